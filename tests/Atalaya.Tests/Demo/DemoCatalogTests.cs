using System.Security.Cryptography;
using Atalaya.Engine.Demo;

namespace Atalaya.Tests.Demo;

/// <summary>
/// <c>atalaya demo --products N</c>: a catalog of N products shared among the stores, while the
/// default output stays byte for byte what it was before the option existed (benchmark caches and
/// recorded figures depend on it).
/// </summary>
public sealed class DemoCatalogTests
{
    [Fact]
    public void The_default_catalog_output_is_unchanged()
    {
        // SHA-256 of the same command's output before --products was added.
        Assert.Equal("85a98d15582b61153d5a105f045678715a3bee06fe4b61657d199a8129c73f43",
            Sha256(new DemoOptions(Days: 3, Seed: 5, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 40)));
        Assert.Equal("6bff18ec61e6b4607b071e2ab69e00edd4a4748c5f7ff78b5ce1e2e5865ef806",
            Sha256(new DemoOptions(Days: 3, Seed: 5, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 40, Scale: 2)));
    }

    [Fact]
    public void Products_sets_the_size_of_the_whole_catalog()
    {
        var options = new DemoOptions(Days: 3, Seed: 5, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 40, Products: 5000);
        var products = DemoGenerator.PlantedPairs(options).SelectMany(p => new[] { p.A, p.B }).Distinct(StringComparer.Ordinal).ToList();
        Assert.Equal(5000, products.Count);
        // Shared evenly: every store sells within one product of the others.
        var perStore = products.GroupBy(p => p[..p.LastIndexOf("-p", StringComparison.Ordinal)]).Select(g => g.Count()).ToList();
        Assert.True(perStore.Max() - perStore.Min() <= 1, $"stores sell {perStore.Min()} to {perStore.Max()} products");
        var defaults = DemoGenerator.PlantedPairs(options with { Products = null }).SelectMany(p => new[] { p.A, p.B }).Distinct(StringComparer.Ordinal).Count();
        Assert.InRange(defaults, 10 * perStore.Count, 30 * perStore.Count);
    }

    private static string Sha256(DemoOptions options)
    {
        using var output = new MemoryStream();
        DemoGenerator.WriteNdjson(options, output);
        return Convert.ToHexStringLower(SHA256.HashData(output.ToArray()));
    }
}
