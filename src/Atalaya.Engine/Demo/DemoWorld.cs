using System.Globalization;

namespace Atalaya.Engine.Demo;

/// <summary>
/// The stores and products of the demo marketplace. Most stores exist from the first minutes of
/// the range; a few open on later days so that <c>new_stores</c> varies. Built once per run from its
/// own seeded <see cref="Random"/>, so the catalog does not shift when the traffic settings change.
/// At scale K each country has K times the stores, the initial ones opening within the same first
/// minutes as at scale 1.
/// </summary>
internal sealed class DemoWorld
{
    private readonly Dictionary<string, DemoStore[]> _storesByCountry;

    private DemoWorld(DemoStore[] stores)
    {
        Stores = stores;
        _storesByCountry = stores.GroupBy(s => s.Country.Code, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
    }

    public DemoStore[] Stores { get; }

    /// <param name="products">The whole catalog's size, shared out evenly among the stores; null for each store's usual 10–30 products.</param>
    public static DemoWorld Build(Random rng, DateTime rangeStart, int days, int scale, int? products = null)
    {
        var stores = new List<DemoStore>();
        var namesUsed = new HashSet<string>(StringComparer.Ordinal);
        var storeCount = DemoData.Countries.Sum(c => (c.InitialStores + c.LaterStores) * scale);
        foreach (var country in DemoData.Countries)
        {
            var initial = country.InitialStores * scale;
            var total = initial + (country.LaterStores * scale);
            for (var n = 1; n <= total; n++)
            {
                var createdAt = n <= initial
                    ? rangeStart.AddSeconds(stores.Count * 20 / scale)
                    : LaterOpening(rng, rangeStart, days, country);
                int? catalog = products is { } p ? Math.Max(1, (p / storeCount) + (stores.Count < p % storeCount ? 1 : 0)) : null;
                stores.Add(CreateStore(rng, country, n, createdAt, namesUsed, catalog));
            }
        }
        return new DemoWorld([.. stores]);
    }

    /// <summary>A store of <paramref name="country"/> open at <paramref name="at"/>, likelier in the shopper's hub; null before any opens.</summary>
    public DemoStore? PickStore(Random rng, DemoCountry country, string hub, DateTime at)
    {
        var stores = _storesByCountry[country.Code];
        var total = 0.0;
        foreach (var store in stores)
        {
            total += Weight(store, hub, at);
        }
        if (total == 0)
        {
            return null;
        }
        var r = rng.NextDouble() * total;
        foreach (var store in stores)
        {
            r -= Weight(store, hub, at);
            if (r < 0)
            {
                return store;
            }
        }
        return stores.Last(s => s.CreatedAt <= at);
    }

    private static double Weight(DemoStore store, string hub, DateTime at) =>
        store.CreatedAt > at ? 0 : store.Popularity * (string.Equals(store.Hub, hub, StringComparison.Ordinal) ? 3 : 1);

    private static DateTime LaterOpening(Random rng, DateTime rangeStart, int days, DemoCountry country)
    {
        var day = days > 1 ? rng.Next(1, days) : 0;
        var localHour = rng.Next(9, 18);
        return rangeStart.AddDays(day).AddHours(localHour - country.UtcOffsetHours).AddMinutes(rng.Next(60));
    }

    /// <param name="catalog">How many products the store sells (a large catalog), or null for 10–30.</param>
    private static DemoStore CreateStore(Random rng, DemoCountry country, int number, DateTime createdAt, HashSet<string> namesUsed, int? catalog)
    {
        var category = PickCategory(rng);
        var hub = rng.Pick(country.Hubs);
        var id = string.Create(CultureInfo.InvariantCulture, $"{country.Code.ToLowerInvariant()}-{number:000}");
        var name = StoreName(rng, country, category, hub, namesUsed);
        var seeds = country.Swedish ? category.ProductsSv : category.ProductsEs;
        var combinations = seeds.Length * category.Variants.Length;
        var count = catalog ?? Math.Min(rng.Next(10, 31), combinations);

        // Distinct (product, variant) pairs, base variants first so every store sells the plain items.
        var picks = Enumerable.Range(0, combinations)
            .Select(i => (Index: i, Key: (i / seeds.Length) + rng.NextDouble()))
            .OrderBy(p => p.Key)
            .Take(count)
            .Select(p => p.Index)
            .ToArray();
        var products = new DemoProduct[count];
        for (var k = 0; k < count; k++)
        {
            // Past the (product, variant) pairs a large catalog repeats them as numbered lines ("… 2", "… 3").
            var pick = picks[k % picks.Length];
            var seed = seeds[pick % seeds.Length];
            var variant = category.Variants[pick / seeds.Length];
            var suffix = (country.Swedish ? variant.SuffixSv : variant.SuffixEs)
                + (k < picks.Length ? "" : string.Create(CultureInfo.InvariantCulture, $" {(k / picks.Length) + 1}"));
            var price = country.PriceFromUsd(seed.Usd * variant.PriceFactor * rng.Between(0.85, 1.2));
            products[k] = new DemoProduct(
                string.Create(CultureInfo.InvariantCulture, $"{id}-p{k + 1:00}"),
                seed.Name + suffix,
                seed.Category,
                price,
                seed.Name.Split(' ')[0].ToLowerInvariant(),
                1.0 / Math.Pow(k + 1, 0.8));
        }
        var plan = rng.Chance(0.3) ? "pro" : "basic";
        var popularity = Math.Exp(rng.Gaussian() * 0.6);
        return new DemoStore(id, name, country, hub, "z" + rng.Next(1, 5).ToString(CultureInfo.InvariantCulture),
            category, createdAt, plan, popularity, products);
    }

    private static DemoCategory PickCategory(Random rng)
    {
        var weights = DemoData.Categories.Select(c => c.StoreShare).ToArray();
        return DemoData.Categories[rng.Weighted(weights)];
    }

    private static string StoreName(Random rng, DemoCountry country, DemoCategory category, string hub, HashSet<string> namesUsed)
    {
        var names = country.Swedish ? category.StoreNamesSv : category.StoreNamesEs;
        var start = rng.Next(names.Length);
        for (var i = 0; i < names.Length; i++)
        {
            var name = names[(start + i) % names.Length];
            if (namesUsed.Add(name))
            {
                return name;
            }
        }
        var branch = $"{names[start]} {HubTitle(hub)}";
        for (var n = 2; !namesUsed.Add(branch); n++)
        {
            branch = string.Create(CultureInfo.InvariantCulture, $"{names[start]} {HubTitle(hub)} {n}");
        }
        return branch;
    }

    private static string HubTitle(string hub)
    {
        var part = hub[(hub.IndexOf('-', StringComparison.Ordinal) + 1)..].Replace('-', ' ');
        return CultureInfo.InvariantCulture.TextInfo.ToTitleCase(part);
    }
}
