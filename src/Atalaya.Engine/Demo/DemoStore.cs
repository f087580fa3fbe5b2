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
}

/// <summary>A product as the storefront shows it; <see cref="SearchTerm"/> is what a shopper would type for it.</summary>
internal sealed record DemoProduct(string Id, string Name, string Category, decimal Price, string SearchTerm, double Popularity);
