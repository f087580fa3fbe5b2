using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// The oracle checked against numbers worked out by hand, so that a disagreement with the engine
/// can be trusted to be the engine's. The dataset (all UTC, store st-a in MX):
///
///   s1 (u1, MX, web):   03-02 10:00 page_view, 10:05 product_viewed, 10:06 add_to_cart,
///                       10:08 checkout_started, 10:10 purchase o1 (total 110 MXN × 0.05 = 5.5; 2 × p-1)
///   s2 (u2, CO, ios):   03-02 11:00 page_view (a bounce)
///   s3 (anonymous a3):  03-02 23:30 page_view, 03-03 00:30 product_viewed, 00:31 add_to_cart
///                       (starts on 03-02, lasts 3,660 s, never buys)
///   orders without session: o2 03-03 09:00 u1 total 200 × 0.05 = 10 (1 unit); o2 again 03-03 12:00
///                       total 999 (ignored: a later purchase_completed of the same order);
///                       o3 03-03 10:00 u3 total 300 EUR without a rate (3 units; counts, adds no money)
///   finals:             o1 ENTREGADO 03-02 12:00 (total 110 × 0.05 = 5.5, commission 11 × 0.05 = 0.55);
///                       o1 ENTREGADO again 03-03 08:00 (ignored); o2 REEMBOLSADO 03-03 13:00 (never delivered:
///                       its cancellation, 200 × 0.05 = 10 cancelled GMV, no refund)
///   payments:           succeeded u1 03-02 10:11 (100 × 0.05 = 5); failed u2 03-02 11:01 (CO)
///   leads:              u1 03-02 09:00 (u1 pays at 10:11: converts); u2 03-02 11:00:30 (CO, never pays)
///   others:             store_created st-a 03-01; user_signed_up u2 03-02 11:02 (CO);
///                       subscription_charged st-a 03-02 01:00 (1000 × 0.05 = 50)
/// </summary>
public sealed class ReferenceSelfTests
{
    private static readonly ReferenceData Data = ReferenceData.FromStored(StoredForm.Of(HandDataset().Events));

    private static EventBuilder HandDataset()
    {
        var b = new EventBuilder("hand");
        b.StoreCreated("2026-03-01T00:00:00Z", "st-a", "MX", "cdmx", "z1", "food");
        b.Lead("2026-03-02T09:00:00Z", "u1");
        b.PageView("2026-03-02T10:00:00Z", "u1", "s1");
        b.ProductView("2026-03-02T10:05:00Z", "u1", "s1", "st-a", "p-1");
        b.AddToCart("2026-03-02T10:06:00Z", "u1", "s1", "st-a");
        b.CheckoutStarted("2026-03-02T10:08:00Z", "u1", "s1", "st-a");
        b.Order("2026-03-02T10:10:00Z", "o1", "st-a", "u1", "s1");
        b.Payment("2026-03-02T10:11:00Z", succeeded: true, 100, "u1", place: Place.Mexico);
        b.PageView("2026-03-02T11:00:00Z", "u2", "s2", Place.Colombia);
        b.Lead("2026-03-02T11:00:30Z", "u2", Place.Colombia);
        b.Payment("2026-03-02T11:01:00Z", succeeded: false, 50, "u2", place: Place.Colombia);
        b.SignUp("2026-03-02T11:02:00Z", "u2", place: Place.Colombia);
        b.Subscription("2026-03-02T01:00:00Z", "st-a", 1000);
        b.Status("2026-03-02T12:00:00Z", "o1", "st-a", "ENTREGADO", total: 110, commission: 11);
        b.PageView("2026-03-02T23:30:00Z", null, "s3", anonymous: "a3");
        b.ProductView("2026-03-03T00:30:00Z", null, "s3", "st-a", "p-1", anonymous: "a3");
        b.AddToCart("2026-03-03T00:31:00Z", null, "s3", "st-a", anonymous: "a3");
        b.Status("2026-03-03T08:00:00Z", "o1", "st-a", "ENTREGADO", total: 110, commission: 11);
        var o2 = b.Order("2026-03-03T09:00:00Z", "o2", "st-a", "u1", total: 200, items: [("p-2", 1, 190m)]);
        b.Copy(o2, "2026-03-03T12:00:00Z", e => e["properties"]!["total"] = 999);
        b.Order("2026-03-03T10:00:00Z", "o3", "st-a", "u3", total: 300, items: [("p-1", 3, 90m)], currency: "EUR", fx: null);
        b.Status("2026-03-03T13:00:00Z", "o2", "st-a", "REEMBOLSADO", total: 200);
        return b;
    }

    private static double? Value(List<KpiRow> rows, string metric, string period, params string?[] group) =>
        rows.Single(r => r.Metric == metric && r.Period == period && r.Group.Equals(new GroupKey(group))).Value;

    private static readonly KpiQuery TwoDays = new(new DateOnly(2026, 3, 2), new DateOnly(2026, 3, 3));

    [Fact]
    public void Money_kpis_sum_the_first_purchase_of_each_order_at_its_frozen_rate()
    {
        var rows = KpiReference.Query(Data, TwoDays);

        Assert.Equal(5.5, Value(rows, "gmv", "2026-03-02"));
        Assert.Equal(10, Value(rows, "gmv", "2026-03-03")!.Value, 9);          // o2 at 200, not 999; o3 has no rate
        Assert.Equal(2, Value(rows, "orders", "2026-03-03"));                  // o2 once, o3 counted without money
        Assert.Equal(5, Value(rows, "aov", "2026-03-03")!.Value, 9);           // 10 / 2
        Assert.Equal(4, Value(rows, "units_sold", "2026-03-03"));              // 1 + 3
        Assert.Equal(5.5, Value(rows, "delivered_gmv", "2026-03-02")!.Value, 9);
        Assert.Equal(0.55, Value(rows, "commissions", "2026-03-02")!.Value, 9);
        Assert.Equal(0, Value(rows, "delivered_orders", "2026-03-03"));        // the second ENTREGADO of o1 is ignored
        Assert.Equal(0, Value(rows, "refunds", "2026-03-03"));                 // o2 was never delivered: not a refund
        Assert.Equal(1, Value(rows, "cancelled_orders", "2026-03-03"));        // … but its cancellation
        Assert.Equal(10, Value(rows, "cancelled_gmv", "2026-03-03")!.Value, 9);
        Assert.Equal(5.5, Value(rows, "net_gmv", "2026-03-02")!.Value, 9);
        Assert.Equal(5, Value(rows, "revenue", "2026-03-02")!.Value, 9);
        Assert.Equal(50, Value(rows, "payments_success_rate", "2026-03-02"));  // 1 of 2
        Assert.Null(Value(rows, "payments_success_rate", "2026-03-03"));
        Assert.Equal(50, Value(rows, "mrr", "2026-03-03")!.Value, 9);          // month to date
    }

    [Fact]
    public void Session_kpis_count_each_session_once_on_the_day_of_its_first_event()
    {
        var rows = KpiReference.Query(Data, TwoDays);

        Assert.Equal(3, Value(rows, "sessions", "2026-03-02"));
        Assert.Equal(0, Value(rows, "sessions", "2026-03-03"));
        Assert.Equal(100.0 / 3, Value(rows, "bounce_rate", "2026-03-02")!.Value, 9);
        Assert.Equal((600 + 0 + 3660) / 3.0, Value(rows, "avg_session_duration_s", "2026-03-02")!.Value, 9);
        Assert.Equal(100.0 / 3, Value(rows, "conversion_rate", "2026-03-02")!.Value, 9);
        Assert.Equal(100, Value(rows, "add_to_cart_rate", "2026-03-02"));        // s1, s3 of s1, s3
        Assert.Equal(50, Value(rows, "cart_abandonment_rate", "2026-03-02"));    // s3 of s1, s3
        Assert.Equal(100, Value(rows, "checkout_completion_rate", "2026-03-02"));
        Assert.Null(Value(rows, "bounce_rate", "2026-03-03"));
        Assert.Null(Value(rows, "avg_session_duration_s", "2026-03-03"));
    }

    [Fact]
    public void User_kpis_follow_each_users_history()
    {
        var rows = KpiReference.Query(Data, TwoDays);

        Assert.Equal(3, Value(rows, "visitors", "2026-03-02"));                // u1, u2, a3
        Assert.Equal(3, Value(rows, "active_users", "2026-03-03"));            // a3, u1, u3
        Assert.Equal(1, Value(rows, "new_customers", "2026-03-02"));           // u1
        Assert.Equal(1, Value(rows, "new_customers", "2026-03-03"));           // u3
        Assert.Equal(1, Value(rows, "returning_customers", "2026-03-03"));     // u1
        Assert.Equal(5.5, Value(rows, "ltv", "2026-03-02")!.Value, 9);         // 5.5 / {u1}
        Assert.Equal(7.75, Value(rows, "ltv", "2026-03-03")!.Value, 9);        // (5.5 + 10 + 0) / {u1, u3}
        Assert.Equal(2, Value(rows, "leads", "2026-03-02"));
        Assert.Equal(50, Value(rows, "conversion_pct", "2026-03-02"));         // u1's lead converts, u2's does not
        Assert.Equal(1, Value(rows, "new_users", "2026-03-02"));
        Assert.Equal(0, Value(rows, "new_stores", "2026-03-02"));
        Assert.Null(Value(rows, "store_churn_rate", "2026-03-02"));            // no store active on 03-01
        Assert.Equal(0, Value(rows, "store_churn_rate", "2026-03-03"));        // st-a active both days
    }

    [Fact]
    public void A_weekly_row_is_computed_over_the_whole_week_not_summed_from_days()
    {
        var rows = KpiReference.Query(Data, TwoDays with { Aggregate = "weekly" });

        Assert.Equal(KpiFormulas.Ids.Count, rows.Count);                      // one week, every KPI
        Assert.Equal(4, Value(rows, "visitors", "2026-03-02"));                // u1, u2, a3, u3 (3 + 3 daily)
        Assert.Equal(3, Value(rows, "orders", "2026-03-02"));
        Assert.Equal(0, Value(rows, "returning_customers", "2026-03-02"));     // u1's first order is inside the week
        Assert.Equal(7.75, Value(rows, "ltv", "2026-03-02")!.Value, 9);
    }

    [Fact]
    public void Groups_take_the_stores_dimensions_and_apply_to_history()
    {
        var rows = KpiReference.Query(Data, TwoDays with { GroupBy = ["country"] });

        Assert.Equal(2 * 2 * KpiFormulas.Ids.Count, rows.Count);                                  // CO and MX, two days, every KPI
        Assert.Equal(1, Value(rows, "visitors", "2026-03-02", "CO"));
        Assert.Equal(100, Value(rows, "bounce_rate", "2026-03-02", "CO"));
        Assert.Equal(0, Value(rows, "payments_success_rate", "2026-03-02", "CO"));
        Assert.Equal(100, Value(rows, "payments_success_rate", "2026-03-02", "MX"));
        Assert.Equal(0, Value(rows, "conversion_pct", "2026-03-02", "CO"));
        Assert.Equal(0, Value(rows, "gmv", "2026-03-03", "CO"));               // an empty period of a present group is 0
        Assert.Null(Value(rows, "aov", "2026-03-03", "CO"));
    }

    [Fact]
    public void Filters_leave_out_events_and_the_history_they_would_give()
    {
        var colombia = KpiReference.Query(Data, TwoDays with { Filters = DimensionFilters.Of(("country", ["CO"])) });
        var both = KpiReference.Query(Data, TwoDays with { Filters = DimensionFilters.Of(("country", ["CO", "MX"])) });

        Assert.Equal(0, Value(colombia, "conversion_pct", "2026-03-02"));
        Assert.Equal(0, Value(colombia, "orders", "2026-03-03"));
        Assert.Equal(3, Value(both, "visitors", "2026-03-02"));
    }

    [Fact]
    public void A_day_in_a_zone_is_its_local_day()
    {
        // In America/Mexico_City (UTC−6) s3's page_view (23:30Z) is 17:30 on 03-02 and o2 (09:00Z) is 03:00 on 03-03.
        var rows = KpiReference.Query(Data, TwoDays with { Tz = "America/Mexico_City" });

        Assert.Equal(3, Value(rows, "sessions", "2026-03-02"));
        Assert.Equal(2, Value(rows, "orders", "2026-03-03"));
        Assert.Equal(3, Value(rows, "pageviews", "2026-03-02"));
    }

    [Fact]
    public void Hours_around_a_dst_change_are_labelled_with_their_offset()
    {
        var stockholm = new LocalCalendar("Europe/Stockholm");
        var santiago = new LocalCalendar("America/Santiago");

        var spring = stockholm.Periods(new DateOnly(2026, 3, 29), new DateOnly(2026, 3, 29), "hourly");
        var autumn = stockholm.Periods(new DateOnly(2026, 10, 25), new DateOnly(2026, 10, 25), "hourly");
        var fallBack = santiago.Periods(new DateOnly(2026, 4, 4), new DateOnly(2026, 4, 4), "hourly");

        Assert.Equal(23, spring.Count);
        Assert.DoesNotContain(spring, p => p.Label.StartsWith("2026-03-29T02:", StringComparison.Ordinal));
        Assert.Equal(25, autumn.Count);
        Assert.Contains(autumn, p => p.Label == "2026-10-25T02:00+02:00");
        Assert.Contains(autumn, p => p.Label == "2026-10-25T02:00+01:00");
        Assert.Equal(25, fallBack.Count);
        Assert.Equal(["2026-04-04T23:00-03:00", "2026-04-04T23:00-04:00"], fallBack.TakeLast(2).Select(p => p.Label));
        // The clock springs from 24:00 to 01:00 on 2026-09-06 in Santiago: that day starts at 01:00−03:00.
        Assert.Equal(DateTimeOffset.Parse("2026-09-06T04:00:00Z", System.Globalization.CultureInfo.InvariantCulture), santiago.StartOfDay(new DateOnly(2026, 9, 6)));
    }

    [Fact]
    public void Weekly_and_monthly_rows_at_the_range_edges_cover_only_the_range()
    {
        var utc = new LocalCalendar("UTC");

        var weeks = utc.Periods(new DateOnly(2026, 2, 26), new DateOnly(2026, 3, 3), "weekly");
        var months = utc.Periods(new DateOnly(2026, 2, 26), new DateOnly(2026, 3, 3), "monthly");

        Assert.Equal(["2026-02-23", "2026-03-02"], weeks.Select(p => p.Label));
        Assert.Equal(new DateTime(2026, 2, 26, 0, 0, 0, DateTimeKind.Utc), weeks[0].Start.UtcDateTime);
        Assert.Equal(new DateTime(2026, 2, 23, 0, 0, 0, DateTimeKind.Utc), weeks[0].FullStart.UtcDateTime);
        Assert.Equal(new DateTime(2026, 3, 4, 0, 0, 0, DateTimeKind.Utc), weeks[1].End.UtcDateTime);
        Assert.Equal(["2026-02", "2026-03"], months.Select(p => p.Label));
        Assert.Equal(new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc), months[1].MonthStart.UtcDateTime);
    }

    [Fact]
    public void A_funnel_counts_the_longest_ordered_chain_within_the_window()
    {
        var b = new EventBuilder("funnel");
        b.PageView("2026-03-02T10:00:00Z", "x", "sx");                            // x: page_view, add_to_cart 10 s later,
        b.AddToCart("2026-03-02T10:00:10Z", "x", "sx", "st-a");                  //    purchase 4,000 s after the start: 2 steps
        b.PageView("2026-03-02T10:00:20Z", "x", "sx");
        b.Order("2026-03-02T11:06:40Z", "ox", "st-a", "x", "sx");
        b.AddToCart("2026-03-02T10:00:00Z", "y", "sy", "st-a");                  // y: add_to_cart before page_view: 1 step
        b.PageView("2026-03-02T10:00:05Z", "y", "sy");
        b.PageView("2026-03-02T10:00:00Z", "z", "sz");                            // z: same instant counts as "at or after": 3 steps
        b.AddToCart("2026-03-02T10:00:00Z", "z", "sz", "st-a");
        b.Order("2026-03-02T11:00:00Z", "oz", "st-a", "z", "sz");
        var data = ReferenceData.FromStored(StoredForm.Of(b.Events));

        var steps = FunnelReference.Compute(data, ["page_view", "add_to_cart", "purchase_completed"], 3600,
            DateTimeOffset.Parse("2026-03-02T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse("2026-03-03T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), DimensionFilters.None);

        Assert.Equal([3, 2, 1], steps.Select(s => s.Users));
        Assert.Equal(100, steps[0].ConversionFromPrevious);
        Assert.Equal(200.0 / 3, steps[1].ConversionFromPrevious!.Value, 9);
        Assert.Equal(50, steps[2].ConversionFromPrevious);
        Assert.Equal(100.0 / 3, steps[2].ConversionFromFirst!.Value, 9);
    }

    [Fact]
    public void Retention_counts_users_of_a_cohort_by_periods_since_their_first_order()
    {
        var b = new EventBuilder("ret");
        b.Order("2026-01-05T10:00:00Z", "r1", "st-a", "u1");
        b.Order("2026-02-10T10:00:00Z", "r2", "st-a", "u1");
        b.Order("2026-03-01T10:00:00Z", "r3", "st-a", "u1");
        b.Order("2026-02-01T10:00:00Z", "r4", "st-a", "u2");
        b.Order("2026-02-20T10:00:00Z", "r5", "st-a", "u2");
        b.Order("2026-02-21T10:00:00Z", "r6", "st-a", null, anonymous: null);
        var data = ReferenceData.FromStored(StoredForm.Of(b.Events));

        var rows = RetentionReference.Compute(data, "month", null, null, DimensionFilters.None, "UTC");

        Assert.Equal(
            [new RetentionRow("2026-01", 0, 1), new RetentionRow("2026-01", 1, 1), new RetentionRow("2026-01", 2, 1), new RetentionRow("2026-02", 0, 1)],
            rows);
    }

    [Fact]
    public void Top_products_sum_items_at_the_orders_rate_and_count_views()
    {
        var rows = TopProductsReference.Compute(Data, "revenue", 10,
            DateTimeOffset.Parse("2026-03-02T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse("2026-03-04T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), DimensionFilters.None);

        // p-2: 190 × 1 × 0.05 = 9.5 (o2's first purchase); p-1: 2 × 50 × 0.05 = 5 from o1, o3 adds 3 units and no money.
        Assert.Equal(["p-2", "p-1"], rows.Select(r => r.ProductId));
        Assert.Equal(9.5, rows[0].Revenue, 9);
        Assert.Equal(5, rows[1].Revenue, 9);
        Assert.Equal(5, rows[1].Units);
        Assert.Equal(2, rows[1].Orders);
        Assert.Equal(2, rows[1].Views);
        Assert.Equal("Tacos", rows[1].ProductName);
        Assert.Null(rows[0].ProductName);
    }

    [Fact]
    public void The_reference_knows_exactly_the_dictionarys_kpis_in_its_order()
    {
        // The dictionary in force: the highest kpis.vN.json.
        var latest = Directory.GetFiles(Path.Combine(RepositoryRoot(), "src/Atalaya.Engine/Kpi/Definitions"), "kpis.v*.json")
            .MaxBy(path => int.Parse(Path.GetFileName(path)["kpis.v".Length..^".json".Length], System.Globalization.CultureInfo.InvariantCulture))!;
        using var dictionary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(latest));

        // Event KPIs only: the connector KPIs (source: connector) are sums of providers' rows, checked by MarketingKpiTests.
        var ids = dictionary.RootElement.GetProperty("kpis").EnumerateArray()
            .Where(k => !(k.TryGetProperty("source", out var source) && source.GetString() == "connector"))
            .Select(k => k.GetProperty("id").GetString()!).ToList();

        Assert.Equal(ids, KpiFormulas.Ids);
    }

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Atalaya.slnx not found above " + AppContext.BaseDirectory);
    }
}
