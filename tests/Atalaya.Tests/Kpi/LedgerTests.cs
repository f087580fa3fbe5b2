using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Kpi;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;
using DimensionFilter = Atalaya.Engine.Kpi.Query.DimensionFilter;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// The order ledger through the metrics API, against figures worked out by hand (so the engine and
/// the reference cannot be wrong together), on the ledger dataset (see <see cref="LedgerDataset"/>;
/// MXN at 0.05, COP at 0.00025).
/// </summary>
[Collection(KpiCollection.Name)]
public sealed class LedgerTests(KpiDatasets datasets)
{
    private KpiHub Ledger => datasets["ledger"].Hub;

    private static readonly string[] Money = ["delivered_orders", "delivered_gmv", "commissions", "refunds", "cancelled_orders", "cancelled_gmv", "net_gmv"];

    private async Task<Dictionary<(string Metric, string Period), double?>> DailyAsync(string from, string to, string tz = "UTC")
    {
        var query = new KpiQuery(DateOnly.Parse(from, System.Globalization.CultureInfo.InvariantCulture), DateOnly.Parse(to, System.Globalization.CultureInfo.InvariantCulture), "daily", tz)
        { Metrics = Money };
        var answer = await Ledger.Api.QueryAsync(query);
        return answer.Rows.ToDictionary(r => (r.Metric, r.Period), r => r.Value);
    }

    private static void Expect(Dictionary<(string Metric, string Period), double?> rows, string day, params (string Metric, double Value)[] expected)
    {
        foreach (var (metric, value) in expected)
        {
            Assert.True(KpiComparison.Close(value, rows[(metric, day)]), $"{metric} on {day}: expected {value}, got {rows[(metric, day)]}");
        }
    }

    [Fact]
    public async Task Partial_refunds_count_each_in_its_own_day_and_stop_at_the_delivered_total()
    {
        var rows = await DailyAsync("2026-03-21", "2026-04-03");

        // ord-partials: delivered 300 (15), commission 30 (1.5).
        Expect(rows, "2026-03-21", ("delivered_orders", 1), ("delivered_gmv", 15), ("commissions", 1.5), ("net_gmv", 15));
        // 100 refunded: 5, reversing 30 × 100 / 300 = 10 (0.5).
        Expect(rows, "2026-03-25", ("refunds", 5), ("commissions", -0.5), ("net_gmv", -5));
        // 50 refunded reversing exactly 4: 2.5 and 0.2. 500 asked the day after: only the 150 left, reversing 15 (0.75).
        Expect(rows, "2026-04-02", ("refunds", 2.5), ("commissions", -0.2));
        Expect(rows, "2026-04-03", ("refunds", 7.5), ("commissions", -0.75), ("net_gmv", -7.5));
        // ord-after: delivered 03-23 (5.5), its CANCELADO of 03-24 counts nothing.
        Expect(rows, "2026-03-23", ("delivered_orders", 1), ("delivered_gmv", 5.5));
        Expect(rows, "2026-03-24", ("cancelled_orders", 0), ("cancelled_gmv", 0), ("refunds", 0));
    }

    [Fact]
    public async Task Cancellations_count_once_and_never_after_a_delivery()
    {
        var rows = await DailyAsync("2026-03-26", "2026-04-06");

        // ord-cancel: cancelled twice, counted once (40000 COP = 10).
        Expect(rows, "2026-03-26", ("cancelled_orders", 1), ("cancelled_gmv", 10));
        Expect(rows, "2026-03-27", ("cancelled_orders", 0), ("cancelled_gmv", 0));
        // ord-refund-first: its REEMBOLSADO before any delivery is its cancellation (110 = 5.5), not a refund;
        // then the delivery, then a refund of the whole total (no refunded_amount) reversing the whole commission.
        Expect(rows, "2026-03-29", ("cancelled_orders", 1), ("cancelled_gmv", 5.5), ("refunds", 0));
        Expect(rows, "2026-03-30", ("delivered_orders", 1), ("delivered_gmv", 5.5), ("commissions", 0.55));
        // 04-01 (UTC) also holds ord-co's refund at 00:30: 20000 COP = 5, reversing 8000 × 20000 / 80000 = 2000 (0.5).
        Expect(rows, "2026-04-01", ("refunds", 5.5 + 5), ("commissions", -0.55 - 0.5));
        // ord-undo: the delivery that arrived after its later CANCELADO is counted; the cancellation is not.
        Expect(rows, "2026-04-05", ("delivered_orders", 1));
        Expect(rows, "2026-04-06", ("cancelled_orders", 0), ("cancelled_gmv", 0));
    }

    [Fact]
    public async Task Out_of_order_duplicated_and_unknown_order_statuses_count_once()
    {
        var rows = await DailyAsync("2026-04-04", "2026-04-08");

        // ord-late: its delivery (120 = 6) arrived after its refund; the second ENTREGADO is ignored.
        Expect(rows, "2026-04-04", ("delivered_orders", 1), ("delivered_gmv", 6), ("commissions", 0.6));
        // Its refund of 60 (3, reversing 6 = 0.3), resent with the same event id: once. 04-05 also holds ord-undo's delivery (5.5, 0.55).
        Expect(rows, "2026-04-05", ("refunds", 3), ("delivered_gmv", 5.5), ("commissions", 0.55 - 0.3));
        // ord-ghost, never placed: its delivery and refund count.
        Expect(rows, "2026-04-07", ("delivered_orders", 1), ("delivered_gmv", 4.5), ("commissions", 0.45));
        Expect(rows, "2026-04-08", ("refunds", 1.5), ("commissions", -0.15), ("net_gmv", -1.5));
        Assert.DoesNotContain(Ledger.Reference.Orders, o => o.Text("order_id") == "ord-ghost");
        Assert.Single(StoredEvents.All(Ledger.Server.DataDirectory), e => e.GetProperty("event_type").GetString() == "order_status_changed"
            && e.GetProperty("properties").GetProperty("order_id").GetString() == "ord-late"
            && e.GetProperty("properties").GetProperty("status").GetString() == "REEMBOLSADO");
    }

    [Fact]
    public async Task Checkout_completion_counts_only_purchases_after_a_checkout_and_never_exceeds_100()
    {
        var answer = await Ledger.Api.QueryAsync(new KpiQuery(new DateOnly(2026, 3, 15), new DateOnly(2026, 3, 15)) { Metrics = ["checkout_completion_rate", "conversion_rate"] });

        // s-c1 of s-c1 and s-c2; all three sessions bought.
        Assert.Equal(50, answer.Rows.Single(r => r.Metric == "checkout_completion_rate").Value);
        Assert.Equal(100, answer.Rows.Single(r => r.Metric == "conversion_rate").Value);
    }

    [Fact]
    public async Task Customers_repeat_and_churn_follow_each_users_orders()
    {
        var answer = await Ledger.Api.QueryAsync(new KpiQuery(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 30), "monthly")
        { Metrics = ["customers", "repeat_customer_rate", "customer_churn_rate"] });
        double? Value(string metric, string month) => answer.Rows.Single(r => r.Metric == metric && r.Period == month).Value;

        // March: u1, u2, u3, u5, u6, u7, u8 (all new). April: u1 (again), u3 (again) and u4 (new).
        Assert.Equal(7, Value("customers", "2026-03"));
        Assert.Equal(0, Value("repeat_customer_rate", "2026-03"));
        Assert.Null(Value("customer_churn_rate", "2026-03"));                    // nobody ordered in February
        Assert.Equal(3, Value("customers", "2026-04"));
        Assert.Equal(200.0 / 3, Value("repeat_customer_rate", "2026-04")!.Value, 9);
        Assert.Equal(500.0 / 7, Value("customer_churn_rate", "2026-04")!.Value, 9);  // u2, u5, u6, u7, u8 of March's 7
    }

    [Fact]
    public async Task Lead_kpis_group_by_priority()
    {
        var answer = await Ledger.Api.QueryAsync(new KpiQuery(new DateOnly(2026, 3, 14), new DateOnly(2026, 3, 14))
        { Metrics = ["leads", "conversion_pct"], GroupBy = ["priority"] });
        double? Value(string metric, string? priority) => answer.Rows.Single(r => r.Metric == metric && r.Group.Equals(new GroupKey([priority]))).Value;

        Assert.Equal(1, Value("leads", "high"));
        Assert.Equal(100, Value("conversion_pct", "high"));
        Assert.Equal(2, Value("leads", "low"));
        Assert.Equal(50, Value("conversion_pct", "low"));
    }

    [Fact]
    public async Task Stock_is_the_latest_snapshot_of_each_product_at_each_period_end()
    {
        var answer = await Ledger.Api.QueryAsync(new KpiQuery(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 30), "monthly")
        { Metrics = ["stock_available", "units_sold", "sell_through_rate"], Filters = DimensionFilters.Of(("store_id", ["st-mx"])) });
        double? Value(string metric, string month) => answer.Rows.Single(r => r.Metric == metric && r.Period == month).Value;

        // End of March: p-1 40, p-2 5 (the late snapshot of 03-25). End of April: p-1 35 (the last stored at 04-10), p-2 5.
        Assert.Equal(45, Value("stock_available", "2026-03"));
        Assert.Equal(40, Value("stock_available", "2026-04"));
        var march = Value("units_sold", "2026-03")!.Value;
        Assert.Equal(100 * march / (march + 45), Value("sell_through_rate", "2026-03")!.Value, 9);
    }

    [Fact]
    public async Task Top_products_and_retention_of_delivered_orders_keep_orders_whose_latest_status_is_ENTREGADO()
    {
        var placed = await Ledger.Api.TopProductsAsync("start_date=2026-03-01&end_date=2026-04-30&order_by=units&limit=100");
        var delivered = await Ledger.Api.TopProductsAsync("start_date=2026-03-01&end_date=2026-04-30&order_by=units&limit=100&orders=delivered");
        var cohorts = await Ledger.Api.RetentionAsync("period=month&start_date=2026-03-01&end_date=2026-04-30&orders=delivered");

        // Refunded, cancelled-after-delivery and never-delivered orders drop out: only ord-plain (1 × p-2 at st-mx) is left.
        Assert.True(placed.Sum(p => p.Units) > 1);
        var only = Assert.Single(delivered);
        Assert.Equal(("p-2", "st-mx", 1.0, 1), (only.ProductId, only.StoreId, only.Units, only.Orders));
        Assert.Equal(2.5, only.Revenue, 9);
        var cohort = Assert.Single(cohorts, c => c.Users > 0);
        Assert.Equal(("2026-03", 0, 1), (cohort.Cohort, cohort.PeriodsSinceFirst, cohort.Users));
        var (status, body) = await Ledger.Api.GetAsync("/api/analysis/top-products?orders=shipped");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, status);
        Assert.Contains("orders", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_definitions_in_force_and_the_first_ones_stay_readable()
    {
        var current = await Ledger.Api.GetJsonAsync("/api/kpi/definitions");
        var first = await Ledger.Api.GetJsonAsync("/api/kpi/definitions?version=1");
        static System.Text.Json.JsonElement Kpi(System.Text.Json.JsonElement d, string id) => d.GetProperty("kpis").EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);

        Assert.Equal(3, current.GetProperty("version").GetInt32());
        Assert.Equal(2, Kpi(current, "refunds").GetProperty("version").GetInt32());
        Assert.Equal(2, Kpi(current, "refunds").GetProperty("changes").GetArrayLength());
        Assert.Equal(1, first.GetProperty("version").GetInt32());
        Assert.Equal(1, Kpi(first, "refunds").GetProperty("version").GetInt32());
        Assert.DoesNotContain(first.GetProperty("kpis").EnumerateArray(), k => k.GetProperty("id").GetString() == "net_gmv");
        Assert.Contains(current.GetProperty("kpis").EnumerateArray(), k => k.GetProperty("id").GetString() == "net_gmv");
        var (status, body) = await Ledger.Api.GetAsync("/api/kpi/definitions?version=9");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, status);
        Assert.Contains("allowed: 1, 2, 3", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_month_end_refund_falls_in_the_month_of_its_local_time()
    {
        // ord-co: delivered 03-31 23:30Z, refunded 04-01 00:30Z. In UTC both in their own months; in Santiago (−03) both on 03-31.
        var utc = await Ledger.Api.QueryAsync(new KpiQuery(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 30), "monthly") { Metrics = ["refunds"], Filters = DimensionFilters.Of(("country", ["CO"])) });
        var santiago = await Ledger.Api.QueryAsync(new KpiQuery(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 30), "monthly", KpiDatasets.Santiago)
        { Metrics = ["refunds"], Filters = DimensionFilters.Of(("country", ["CO"])) });

        Assert.Equal([0, 5], utc.Rows.Select(r => Math.Round(r.Value!.Value, 9)));
        Assert.Equal([5, 0], santiago.Rows.Select(r => Math.Round(r.Value!.Value, 9)));
    }
}

/// <summary>
/// The worked example of the docs (an order delivered in March and half refunded in April) on a hub
/// of its own: a later event never rewrites an earlier period, and neither a restart (with and
/// without the projection's snapshot) nor a backfill of the marts changes a figure.
/// </summary>
public sealed class LedgerLifecycleTests
{
    private static readonly KpiQuery Months = new(new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 30), "monthly")
    {
        Metrics = ["delivered_gmv", "delivered_orders", "commissions", "refunds", "net_gmv", "cancelled_orders", "cancelled_gmv"],
    };

    private static Dictionary<(string, string), double?> Figures(KpiAnswer answer) => answer.Rows.ToDictionary(r => (r.Metric, r.Period), r => r.Value);

    [Fact]
    public async Task March_keeps_its_delivery_and_April_shows_the_refund_before_and_after_a_restart_and_a_backfill()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("worked");
        b.StoreCreated("2026-03-01T00:00:00Z", "st-1", "MX", "cdmx");
        b.Order("2026-03-10T10:00:00Z", "o-1", "st-1", "u-1", total: 200, items: [("p-1", 2, 95m)]);
        b.Status("2026-03-12T10:00:00Z", "o-1", "st-1", "ENTREGADO", total: 200, commission: 20);
        await hub.PostAsync(b.Events);
        var march = Figures(await hub.Api.QueryAsync(Months));

        var refund = new EventBuilder("worked-refund");
        refund.Status("2026-04-15T10:00:00Z", "o-1", "st-1", "REEMBOLSADO", total: 200, commission: 20, refunded: 100);
        await hub.PostAsync(refund.Events);
        var both = Figures(await hub.Api.QueryAsync(Months));

        // March: the delivery of 200 MXN (10), its commission 20 (1); nothing of April's refund.
        foreach (var metric in Months.Metrics)
        {
            Assert.Equal(march[(metric, "2026-03")], both[(metric, "2026-03")]);
        }
        Assert.Equal((1, 10, 1, 0, 10), (both[("delivered_orders", "2026-03")], both[("delivered_gmv", "2026-03")], both[("commissions", "2026-03")],
            both[("refunds", "2026-03")], both[("net_gmv", "2026-03")]));
        // April: half refunded (100 = 5), reversing half the commission (0.5): net GMV −5, commissions −0.5.
        Assert.Equal((0, 0, -0.5, 5, -5), (both[("delivered_orders", "2026-04")], both[("delivered_gmv", "2026-04")], both[("commissions", "2026-04")],
            both[("refunds", "2026-04")], both[("net_gmv", "2026-04")]));
        Assert.Equal(0, both[("cancelled_orders", "2026-04")]);

        // Restarts: from the snapshot written at shutdown, then from the raw events alone.
        await hub.RestartAsync();
        Assert.Null(hub.Server.Hub.Kpis.SnapshotProblem);
        Assert.True(hub.Server.Hub.Kpis.SnapshotSeq > 0, "the restart did not read the snapshot");
        Assert.Equal(both, Figures(await hub.Api.QueryAsync(Months)));
        await hub.RestartAsync(() => File.Delete(Engine.Hub.SnapshotPath(hub.Server.DataDirectory)));
        Assert.Equal(0, hub.Server.Hub.Kpis.SnapshotSeq);
        Assert.Equal(both, Figures(await hub.Api.QueryAsync(Months)));

        // The D+1 marts carry the ledger's figures; a backfill from raw changes none of them.
        JobTestData.Run(hub);
        var marts = JobTestData.Dump(hub.Server.Hub.Database, withRunId: false);
        Assert.Contains("|-0.5|", marts, StringComparison.Ordinal);
        var engine = new KpiEngine(KpiDictionary.Default);
        using (var connection = hub.Server.Hub.Database.Connect())
        {
            engine.Load(connection);
        }
        var backfill = new Backfill(Atalaya.Engine.Jobs.MartStore.Sqlite(hub.Server.Hub.Database), engine, new Atalaya.Engine.Jobs.StoredEventPositions(hub.Server.Hub.Database, engine)).Run(new DateOnly(2026, 3, 1), JobTestData.Yesterday, DimensionFilter.None, apply: true, "run_ledger_backfill");
        Assert.True(backfill.Applied);
        Assert.All(backfill.Diffs, d => Assert.True(d.Added == 0 && d.Removed == 0 && d.Changed == 0, $"the backfill changed {d.Mart}.{d.Metric} ({d.Scope})"));
        Assert.Equal(marts, JobTestData.Dump(hub.Server.Hub.Database, withRunId: false));
        MartReference.AssertAllMarts(hub.Server.Hub.Database, hub.Reference, new DateOnly(2026, 3, 1), new DateOnly(2026, 4, 30));
    }
}
