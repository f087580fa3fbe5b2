using System.Globalization;
using System.Text.Json.Nodes;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// Top products on a catalog of thousands of products (<c>atalaya demo --products</c>), where most
/// products sell once or twice, so rankings are long runs of ties broken by product_id and store_id:
/// every ranking, limit, order filter and dimension filter against the plain reference computation.
/// A product id sold and viewed by two stores, and an order holding the same product twice, are
/// added on top.
/// </summary>
public sealed class TopProductsLargeCatalogTests
{
    private static readonly DateOnly End = new(2026, 3, 31);

    [Fact]
    public async Task Top_products_on_a_large_catalog_equal_the_reference_ties_and_delivered_orders_included()
    {
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 12, Seed: 23, EndDate: End, SessionsPerDay: 220, Products: 4000));
        var shared = hub.Reference.Orders.Select(o => o.Properties.GetProperty("items")[0].GetProperty("product_id").GetString()!).First();
        await hub.PostAsync(SharedProductEvents(shared));

        var catalog = hub.Reference.Events.Where(e => e.Type == "product_viewed").Select(e => e.Text("product_id")).Distinct().Count();
        Assert.True(catalog >= 1000, $"only {catalog} products were viewed: not a large catalog (the default one has about 800)");

        var failures = new List<string>();
        var tiesSeen = 0;
        var windows = new[] { (Start: End.AddDays(-11), End), (Start: End.AddDays(-4), End.AddDays(-1)) };
        var filters = new[] { DimensionFilters.None, DimensionFilters.Of(("country", ["MX", "SE"])) };
        foreach (var (start, end) in windows)
        {
            foreach (var orderBy in new[] { "revenue", "units", "orders", "views" })
            {
                foreach (var limit in new[] { 1, 100, 1000 })
                {
                    foreach (var orders in new[] { "placed", "delivered" })
                    {
                        foreach (var filter in filters)
                        {
                            var query = string.Create(CultureInfo.InvariantCulture,
                                $"order_by={orderBy}&limit={limit}&start_date={start:yyyy-MM-dd}&end_date={end:yyyy-MM-dd}{filter.ToQueryString()}&orders={orders}");
                            var expected = TopProductsReference.Compute(hub.Reference, orderBy, limit, Midnight(start), Midnight(end.AddDays(1)), filter, orders);
                            var actual = await hub.Api.TopProductsAsync(query);
                            tiesSeen += expected.Zip(expected.Skip(1)).Count(p => Measure(p.First, orderBy) == Measure(p.Second, orderBy));
                            var first = Enumerable.Range(0, Math.Max(expected.Count, actual.Count))
                                .FirstOrDefault(i => i >= expected.Count || i >= actual.Count || !Same(expected[i], actual[i]), -1);
                            if (first >= 0)
                            {
                                failures.Add($"{query}: {expected.Count} expected rows, {actual.Count} actual; row {first}: "
                                    + $"expected {(first < expected.Count ? expected[first] : "none")}, actual {(first < actual.Count ? actual[first] : "none")}");
                            }
                        }
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} top-products answer(s) differ:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(tiesSeen > 1000, $"only {tiesSeen} ties in the expected rankings: the tie-breaking order was hardly tested");

        // The product sold by two stores is two rows, each with its own store's figures.
        var both = (await hub.Api.TopProductsAsync($"order_by=orders&limit=1000&start_date={End.AddDays(-11):yyyy-MM-dd}&end_date={End:yyyy-MM-dd}"))
            .Where(p => p.ProductId == shared).ToList();
        Assert.Equal(2, both.Count);
        Assert.Contains(both, p => p.StoreId == "st-other" && p.Orders == 1 && p.Units == 3 && p.Views == 2);

        // The delivered orders are kept between calls only until the next event: a refund after the
        // delivery takes the order out of the very next answer.
        var delivered = $"order_by=orders&limit=1000&start_date={End.AddDays(-11):yyyy-MM-dd}&end_date={End:yyyy-MM-dd}&orders=delivered";
        Assert.Contains(await hub.Api.TopProductsAsync(delivered), p => p.StoreId == "st-other" && p.Orders == 1 && p.Units == 3);
        var refund = Events.Valid("order_status_changed");
        refund["timestamp"] = End.AddDays(-2).ToDateTime(new TimeOnly(9, 0), DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        refund["properties"]!["order_id"] = "o-shared";
        refund["properties"]!["store_id"] = "st-other";
        refund["properties"]!["status"] = "REEMBOLSADO";
        await hub.PostAsync([refund]);
        Assert.Contains(await hub.Api.TopProductsAsync(delivered), p => p.StoreId == "st-other" && p.Orders == 0 && p.Units == 0 && p.Views == 2);
    }

    /// <summary>A second store selling <paramref name="product"/> (viewed twice, one order holding it on two lines) and its store_created.</summary>
    private static IEnumerable<JsonObject> SharedProductEvents(string product)
    {
        var at = End.AddDays(-3).ToDateTime(new TimeOnly(15, 0), DateTimeKind.Utc);
        string Time(int minutes) => at.AddMinutes(minutes).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var store = Events.Valid("store_created");
        store["timestamp"] = Time(-600);
        store["properties"]!["store_id"] = "st-other";
        yield return store;
        for (var n = 0; n < 2; n++)
        {
            var view = Events.Valid("product_viewed");
            view["timestamp"] = Time(n);
            view["properties"]!["product_id"] = product;
            view["properties"]!["store_id"] = "st-other";
            view["properties"]!["product_name"] = "Another store's name";
            yield return view;
        }
        var purchase = Events.Valid("purchase_completed");
        purchase["timestamp"] = Time(5);
        purchase["properties"]!["order_id"] = "o-shared";
        purchase["properties"]!["store_id"] = "st-other";
        purchase["properties"]!["fx_rate_to_reporting"] = 0.055;
        purchase["properties"]!["items"] = new JsonArray(
            new JsonObject { ["product_id"] = product, ["quantity"] = 2, ["price"] = 40.5 },
            new JsonObject { ["product_id"] = "p-extra", ["quantity"] = 1, ["price"] = 90 },
            new JsonObject { ["product_id"] = product, ["quantity"] = 1, ["price"] = 40.5 });
        yield return purchase;
        var delivered = Events.Valid("order_status_changed");
        delivered["timestamp"] = Time(90);
        delivered["properties"]!["order_id"] = "o-shared";
        delivered["properties"]!["store_id"] = "st-other";
        yield return delivered;
    }

    private static double Measure(ProductRow row, string orderBy) => orderBy switch
    {
        "revenue" => row.Revenue,
        "units" => row.Units,
        "orders" => row.Orders,
        _ => row.Views,
    };

    private static DateTimeOffset Midnight(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    private static bool Same(ProductRow expected, ProductRow actual) =>
        expected.ProductId == actual.ProductId && expected.StoreId == actual.StoreId && expected.ProductName == actual.ProductName
        && KpiComparison.Close(expected.Revenue, actual.Revenue) && expected.Units == actual.Units
        && expected.Orders == actual.Orders && expected.Views == actual.Views;
}
