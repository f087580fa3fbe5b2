using System.Globalization;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>Funnel, retention and top-products answers against their references, on the generated and the edge datasets.</summary>
[Collection(KpiCollection.Name)]
public sealed class AnalysisConformanceTests(KpiDatasets datasets)
{
    internal static readonly string[][] FunnelSteps =
    [
        ["page_view", "product_viewed", "add_to_cart", "checkout_started", "purchase_completed"],
        ["product_viewed", "product_viewed", "add_to_cart"],
        ["page_view", "coupon_applied"],
        ["store_visited", "purchase_completed", "order_status_changed"],
    ];

    public static TheoryData<string, string> Zones()
    {
        var data = new TheoryData<string, string>();
        foreach (var (dataset, tz) in KpiDatasets.Zones.Where(z => z.Dataset is "demo-a" or "demo-b" or "edge" or "ledger"))
        {
            data.Add(dataset, tz);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Zones))]
    public async Task Funnels_equal_the_window_funnel_reference(string dataset, string tz)
    {
        var d = datasets[dataset];
        var failures = new List<string>();
        foreach (var window in d.Windows.Where(w => w.Tz == tz))
        {
            var calendar = new LocalCalendar(tz);
            foreach (var steps in FunnelSteps)
            {
                foreach (var seconds in new[] { 60, 3600, 2_592_000 })
                {
                    foreach (var filters in d.Filters)
                    {
                        var query = $"steps={string.Join(',', steps)}&window={seconds}&{Range(window, tz)}{filters.ToQueryString()}";
                        var expected = FunnelReference.Compute(d.Hub.Reference, steps, seconds,
                            calendar.StartOfDay(window.Start), calendar.StartOfDay(window.End.AddDays(1)), filters);
                        var actual = await d.Hub.Api.FunnelAsync(query);
                        if (!(expected.Count == actual.Count && expected.Zip(actual).All(p => p.First.Step == p.Second.Step && p.First.Users == p.Second.Users
                            && KpiComparison.Close(p.First.ConversionFromPrevious, p.Second.ConversionFromPrevious)
                            && KpiComparison.Close(p.First.ConversionFromFirst, p.Second.ConversionFromFirst))))
                        {
                            failures.Add($"[{dataset}] funnel {query}: expected [{string.Join("; ", expected)}], actual [{string.Join("; ", actual)}]");
                        }
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} funnel(s) differ:\n" + string.Join("\n", failures.Take(15)));
    }

    [Theory]
    [MemberData(nameof(Zones))]
    public async Task Retention_cohorts_equal_the_reference(string dataset, string tz)
    {
        var d = datasets[dataset];
        var calendar = new LocalCalendar(tz);
        var failures = new List<string>();
        foreach (var (period, orders) in new[] { ("month", "placed"), ("week", "placed"), ("month", "delivered"), ("week", "delivered") })
        {
            foreach (var filters in d.Filters)
            {
                var ranges = d.Windows.Where(w => w.Tz == tz)
                    .Select(w => (Query: Range(w, tz), Start: (DateTimeOffset?)calendar.StartOfDay(w.Start), End: (DateTimeOffset?)calendar.StartOfDay(w.End.AddDays(1))))
                    .Append((Query: $"tz={Uri.EscapeDataString(tz)}", Start: null, End: null));
                foreach (var range in ranges)
                {
                    var query = $"period={period}&{range.Query}{filters.ToQueryString()}" + (orders == "placed" ? "" : "&orders=" + orders);
                    var expected = RetentionReference.Compute(d.Hub.Reference, period, range.Start, range.End, filters, tz, orders);
                    var actual = (await d.Hub.Api.RetentionAsync(query)).Where(r => r.Users > 0).ToList();
                    if (!expected.OrderBy(r => r.ToString(), StringComparer.Ordinal).SequenceEqual(actual.OrderBy(r => r.ToString(), StringComparer.Ordinal)))
                    {
                        failures.Add($"[{dataset}] retention {query}: expected [{string.Join("; ", expected)}], actual [{string.Join("; ", actual)}]");
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} retention answer(s) differ:\n" + string.Join("\n", failures.Take(10)));
    }

    [Theory]
    [MemberData(nameof(Zones))]
    public async Task Top_products_equal_the_reference(string dataset, string tz)
    {
        var d = datasets[dataset];
        var calendar = new LocalCalendar(tz);
        var failures = new List<string>();
        foreach (var window in d.Windows.Where(w => w.Tz == tz))
        {
            foreach (var orderBy in new[] { "revenue", "units", "orders", "views" })
            {
                foreach (var (limit, orders) in new[] { (5, "placed"), (1000, "placed"), (1000, "delivered") })
                {
                    foreach (var filters in d.Filters)
                    {
                        var query = $"order_by={orderBy}&limit={limit}&{Range(window, tz)}{filters.ToQueryString()}" + (orders == "placed" ? "" : "&orders=" + orders);
                        var expected = TopProductsReference.Compute(d.Hub.Reference, orderBy, limit,
                            calendar.StartOfDay(window.Start), calendar.StartOfDay(window.End.AddDays(1)), filters, orders);
                        var actual = await d.Hub.Api.TopProductsAsync(query);
                        var first = Enumerable.Range(0, Math.Max(expected.Count, actual.Count))
                            .FirstOrDefault(i => i >= expected.Count || i >= actual.Count || !SameProduct(expected[i], actual[i]), -1);
                        if (first >= 0)
                        {
                            failures.Add($"[{dataset}] top-products {query}: {expected.Count} expected rows, {actual.Count} actual; row {first}: "
                                + $"expected {(first < expected.Count ? expected[first] : "none")}, actual {(first < actual.Count ? actual[first] : "none")}");
                        }
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} top-products answer(s) differ:\n" + string.Join("\n", failures.Take(10)));
    }

    private static bool SameProduct(ProductRow expected, ProductRow actual) =>
        expected.ProductId == actual.ProductId && expected.StoreId == actual.StoreId && expected.ProductName == actual.ProductName
        && KpiComparison.Close(expected.Revenue, actual.Revenue) && expected.Units == actual.Units
        && expected.Orders == actual.Orders && expected.Views == actual.Views;

    private static string Range(QueryWindow window, string tz) =>
        string.Create(CultureInfo.InvariantCulture, $"start_date={window.Start:yyyy-MM-dd}&end_date={window.End:yyyy-MM-dd}&tz={Uri.EscapeDataString(tz)}");
}
