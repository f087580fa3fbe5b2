namespace Atalaya.Engine.Demo;

/// <summary>A store of the demo marketplace with its dimension row and its product list.</summary>
internal sealed record DemoStore(
    string Id,
    string Name,
    DemoCountry Country,
    string Hub,
    string Zone,
    DemoCategory Category,
    DateTime CreatedAt,
    string Plan,
    double Popularity,
    DemoProduct[] Products)
{
    public DemoProduct PickProduct(Random rng)
    {
        var total = 0.0;
        foreach (var product in Products)
        {
            total += product.Popularity;
        }
        var r = rng.NextDouble() * total;
        foreach (var product in Products)
        {
            r -= product.Popularity;
            if (r < 0)
            {
                return product;
            }
        }
        return Products[^1];
    }

    /// <summary>
    /// The product shoppers often browse next from <paramref name="product"/> (planted pairs): the
    /// products pair up in list order, 1↔2, 3↔4, …; a last odd one points at the one before it.
    /// </summary>
    public DemoProduct ViewPartner(DemoProduct product)
    {
        var k = Array.IndexOf(Products, product);
        var partner = k ^ 1;
        return Products[partner < Products.Length ? partner : k - 1];
    }

    /// <summary>
    /// The product often bought with <paramref name="product"/> (planted pairs): the first half of
    /// the list pairs with the second half, k ↔ k + n/2, so it differs from <see cref="ViewPartner"/>.
    /// </summary>
    public DemoProduct BasketPartner(DemoProduct product)
    {
        var k = Array.IndexOf(Products, product);
        var half = Products.Length / 2;
        return Products[k < half ? k + half : Math.Min(k - half, half - 1)];
    }
}

/// <summary>A product as the storefront shows it; <see cref="SearchTerm"/> is what a shopper would type for it.</summary>
internal sealed record DemoProduct(string Id, string Name, string Category, decimal Price, string SearchTerm, double Popularity);
