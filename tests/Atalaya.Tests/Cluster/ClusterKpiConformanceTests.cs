using Atalaya.Engine.Access;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Cluster;
using Atalaya.Tests.Kpi;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// The KPI conformance matrix (<see cref="KpiQueryConformanceTests"/>: every KPI × aggregate ×
/// group_by × filters × zone, against the plain reference) run on the cluster backend: each
/// conformance dataset's data folder is moved to a cluster of its own with
/// <c>migrate --to-cluster</c> while a node follows the written events live, then a second node
/// starts and loads them from ClickHouse; every answer of both must equal the same reference the
/// embedded hub is held to (ties included: the ledger's two stock snapshots at one instant).
/// </summary>
[Collection(KpiCollection.Name)]
public sealed class ClusterKpiConformanceTests(KpiDatasets datasets, ClusterConformanceNodes nodes) : IClassFixture<ClusterConformanceNodes>, IAsyncLifetime
{
    // The datasets with events (the empty and one-event hubs add nothing a cluster could get wrong).
    internal static readonly string[] Datasets = ["demo-a", "demo-b", "edge", "ledger"];

    private IReadOnlyDictionary<string, (MetricsClient Live, MetricsClient Loaded)> _apis = null!;

    public async Task InitializeAsync() => _apis = await nodes.StartOnceAsync(datasets);

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>
    /// The nodes held to the reference for a dataset. The node that loaded from ClickHouse, always.
    /// The node that followed live, on the generated marketplaces only: it applies events in the
    /// order the shards' writers publish them (held a second to reorder, docs/scale-out.md), and the
    /// edge and ledger datasets' ties that only arrival order decides (two stock snapshots of one
    /// product at one instant in one request, a store re-created in a later request) can cross in
    /// that second on a loaded machine. A restarted node orders them as the embedded hub does.
    /// </summary>
    private IEnumerable<(string Node, MetricsClient Api)> Nodes(string dataset)
    {
        yield return ("loaded from ClickHouse", _apis[dataset].Loaded);
        if (dataset.StartsWith("demo-", StringComparison.Ordinal))
        {
            yield return ("followed live", _apis[dataset].Live);
        }
    }

    public static TheoryData<string, string, string> Combinations()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (dataset, tz) in KpiDatasets.Zones.Where(z => Datasets.Contains(z.Dataset)))
        {
            foreach (var aggregate in KpiQueryConformanceTests.Aggregates)
            {
                data.Add(dataset, aggregate, tz);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Every_kpi_answer_of_a_cluster_node_equals_the_reference(string dataset, string aggregate, string tz)
    {
        var d = datasets[dataset];
        var failures = new List<string>();
        var queries = 0;
        foreach (var (node, api) in Nodes(dataset))
        {
            foreach (var query in d.Queries(aggregate, tz))
            {
                var answer = await api.QueryAsync(query);
                var differences = KpiComparison.Differences(KpiReference.Query(d.Hub.Reference, query), answer, query);
                if (differences.Count > 0)
                {
                    failures.Add(KpiComparison.Describe($"[{dataset} on a cluster node that {node}] {query}", differences));
                }
                queries++;
            }
        }

        Assert.True(queries > 0, "no query ran");
        Assert.True(failures.Count == 0, $"{failures.Count} of {queries} queries differ from the reference:\n" + string.Join("\n", failures.Take(25)));
    }

    public static TheoryData<string> DatasetNames() => [.. Datasets];

    /// <summary>
    /// ClickHouse's own aggregates (<c>kpi_daily</c>, filled by its materialized view as the migration
    /// inserted the events) count what the plain reference counts: pageviews, store visits, visitors,
    /// orders (each once, at its first purchase_completed) and sessions (at their first event) per UTC
    /// day and country (a store moved to another country included), over every UTC window of the dataset.
    /// </summary>
    [Theory]
    [MemberData(nameof(DatasetNames))]
    public async Task ClickHouses_aggregates_equal_the_reference_per_day_and_country(string dataset)
    {
        var (url, _, _) = nodes.Loaded[dataset];
        using var clickHouse = new ClickHouseClient(ClickHouseSettings.Parse(url));
        var windows = datasets[dataset].Windows.Where(w => w.Tz == "UTC").ToList();
        Assert.NotEmpty(windows);
        foreach (var window in windows)
        {
            var expected = ReferenceCounts(datasets[dataset], window.Start, window.End);
            Assert.NotEmpty(expected);
            // The ledger dataset has every kind of line (deliveries, cancellations, partial and repeated refunds): each money figure is there to compare.
            if (dataset == "ledger")
            {
                Assert.All(LedgerFigures.Metrics, metric => Assert.Contains(expected, line => line.StartsWith(metric + " ", StringComparison.Ordinal)));
            }
            // The second generated marketplace has bounces, conversions, new and returning customers to compare.
            if (dataset == "demo-b")
            {
                Assert.All(PathFigures.Metrics, metric => Assert.Contains(expected, line => line.StartsWith(metric + " ", StringComparison.Ordinal)));
            }
            // The first has payments, leads that convert, subscriptions, churned customers and stores, and items; only the ledger dataset has stock.
            if (dataset == "demo-a")
            {
                Assert.All(PaymentFigures.Metrics.Concat(OrderFigures.Metrics).Where(m => m != "stock_available"),
                    metric => Assert.Contains(expected, line => line.StartsWith(metric + " ", StringComparison.Ordinal)));
            }
            if (dataset == "ledger")
            {
                Assert.Contains(expected, line => line.StartsWith("stock_available ", StringComparison.Ordinal));
            }
            AssertSameFigures(expected, await StoredCountsAsync(clickHouse, window.Start, window.End));
        }
    }

    /// <summary>The same cells with the same values: counts and money to the digit, percentages within 1e-9 (a rate's double is kept as a decimal).</summary>
    private static void AssertSameFigures(List<string> expected, List<string> actual)
    {
        static (string Cell, double Value) Split(string line) =>
            (line[..line.LastIndexOf(' ')], double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var rates = KpiAggregates.Inexact.Select(m => m + " ").ToList();
        bool IsRate(string line) => rates.Any(r => line.StartsWith(r, StringComparison.Ordinal));
        Assert.Equal(expected.Where(l => !IsRate(l)), actual.Where(l => !IsRate(l)));
        var (expectedRates, actualRates) = (expected.Where(IsRate).Select(Split).ToList(), actual.Where(IsRate).Select(Split).ToList());
        Assert.Equal(expectedRates.Select(r => r.Cell), actualRates.Select(r => r.Cell));
        Assert.All(expectedRates.Zip(actualRates), p => Assert.True(Math.Abs(p.First.Value - p.Second.Value) <= 1e-9 * Math.Abs(p.First.Value),
            $"{p.First.Cell}: reference {p.First.Value:R}, ClickHouse {p.Second.Value:R}"));
    }

    /// <summary>
    /// ClickHouse's own funnels (<c>windowFunnel</c>) and retention cohorts (<c>retention</c>) over its
    /// raw events equal the plain reference on every window and zone of the dataset: the four funnels
    /// of the embedded conformance tests at a minute, an hour and 30 days, and monthly and weekly
    /// cohorts of placed orders. A funnel range longer than the 32-bit times of 18.16's windowFunnel
    /// allow is refused, naming the limit.
    /// </summary>
    [Theory]
    [MemberData(nameof(DatasetNames))]
    public async Task ClickHouses_funnels_and_retention_equal_the_reference(string dataset)
    {
        var (url, _, _) = nodes.Loaded[dataset];
        using var clickHouse = new ClickHouseClient(ClickHouseSettings.Parse(url));
        var reference = datasets[dataset].Hub.Reference;
        var failures = new List<string>();
        var (funnels, refused, cohorts) = (0, 0, 0);
        foreach (var window in datasets[dataset].Windows)
        {
            var calendar = new LocalCalendar(window.Tz);
            var (start, end) = (calendar.StartOfDay(window.Start), calendar.StartOfDay(window.End.AddDays(1)));
            var (fromMs, toMs) = (start.ToUnixTimeMilliseconds(), end.ToUnixTimeMilliseconds());
            foreach (var steps in AnalysisConformanceTests.FunnelSteps)
            {
                foreach (var seconds in new[] { 60, 3600, 2_592_000 })
                {
                    var funnelEnd = end;
                    if (toMs - fromMs > AnalysisFigures.MaxFunnelRangeMs)
                    {
                        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AnalysisFigures.FunnelAsync(clickHouse, steps, seconds * 1000L, fromMs, toMs, CancellationToken.None));
                        Assert.Contains("at most 49.7 days", e.Message, StringComparison.Ordinal);
                        refused++;
                        // The range's first 40 days instead.
                        funnelEnd = start.AddDays(40);
                    }
                    var expected = FunnelReference.Compute(reference, steps, seconds, start, funnelEnd, DimensionFilters.None).Select(s => (long)s.Users);
                    var actual = await AnalysisFigures.FunnelAsync(clickHouse, steps, seconds * 1000L, fromMs, funnelEnd.ToUnixTimeMilliseconds(), CancellationToken.None);
                    funnels++;
                    if (!expected.SequenceEqual(actual))
                    {
                        failures.Add($"funnel {string.Join(',', steps)} window {seconds} s, {start:o}..{funnelEnd:o}: expected [{string.Join(", ", expected)}], ClickHouse [{string.Join(", ", actual)}]");
                    }
                }
            }
            foreach (var period in new[] { "month", "week" })
            {
                var expected = RetentionReference.Compute(reference, period, start, end, DimensionFilters.None, window.Tz)
                    .Select(r => $"{r.Cohort} +{r.PeriodsSinceFirst}: {r.Users}");
                var actual = (await AnalysisFigures.RetentionAsync(clickHouse, period == "week", fromMs, toMs, TimeZoneInfo.FindSystemTimeZoneById(window.Tz), CancellationToken.None))
                    .Select(c => $"{c.Cohort} +{c.PeriodsSinceFirst}: {c.Users}").ToList();
                cohorts += actual.Count;
                if (!expected.Order(StringComparer.Ordinal).SequenceEqual(actual.Order(StringComparer.Ordinal)))
                {
                    failures.Add($"retention by {period}, {window.Start}..{window.End} {window.Tz}: expected [{string.Join("; ", expected)}], ClickHouse [{string.Join("; ", actual)}]");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of ClickHouse's analyses differ:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(funnels > 0 && cohorts > 0, $"{funnels} funnels and {cohorts} cohort cells compared");
        // The ledger dataset's two-month windows are longer than windowFunnel's 32-bit milliseconds.
        Assert.Equal(dataset == "ledger", refused > 0);
    }

    /// <summary>
    /// The dq_health reconciliation check on the node that loaded the dataset: every cell equal to
    /// ClickHouse's aggregates is ok; a cell ClickHouse counts and the node does not (an event the
    /// node's projection would have lost) fails, naming the day, the country and both figures; a
    /// month rebuilt from the raw events, and a second fill of everything, count each event once.
    /// </summary>
    [Fact]
    public async Task The_reconciliation_check_passes_on_an_equal_node_and_names_a_cell_that_differs()
    {
        const string Dataset = "demo-a";
        var (url, cluster, node) = nodes.Loaded[Dataset];
        using var clickHouse = new ClickHouseClient(ClickHouseSettings.Parse(url));
        var window = datasets[Dataset].Windows.First(w => w.Tz == "UTC");
        var today = window.End.AddDays(1);
        var checks = new Engine.Quality.QualityChecks(node.Hub.Database, Engine.Catalog.EventCatalog.Default, Jobs.JobTestData.Config,
            Engine.JobCatalog.All(Jobs.JobTestData.Config), new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(today.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero)), node.Hub.Kpis)
        {
            Events = new ClusterEventPositions(cluster),
            ReconcileRetry = TimeSpan.Zero,
        };
        var findings = checks.Reconciliation(today).ToList();
        // Every KPI of the events but the ones that need a user's whole path over periods (the analyses) is a finding of its own.
        Assert.Equal(["active_stores", "active_users", "add_to_cart_rate", "aov", "avg_session_duration_s", "bounce_rate", "cancelled_gmv", "cancelled_orders",
            "cart_abandonment_rate", "checkout_completion_rate", "commissions", "conversion_pct", "conversion_rate", "customer_churn_rate", "customers", "delivered_gmv",
            "delivered_orders", "funnel", "gmv", "leads", "ltv", "mrr", "net_gmv", "new_customers", "new_stores", "new_users", "orders", "pageviews",
            "payments_success_rate", "refunds", "repeat_customer_rate", "retention", "returning_customers", "revenue", "sell_through_rate", "sessions",
            "stock_available", "store_churn_rate", "store_visits", "units_sold", "visitors"],
            findings.Select(f => f.Subject).Order(StringComparer.Ordinal));
        Assert.Equal(KpiFormulas.Ids.Order(StringComparer.Ordinal), findings.Select(f => f.Subject).Except(["funnel", "retention"]).Order(StringComparer.Ordinal));
        // The compared funnel and cohorts are not empty on this dataset: there is something to get wrong.
        Assert.Contains("equals ClickHouse's own count", findings.Single(f => f.Subject == "funnel").Message, StringComparison.Ordinal);
        Assert.NotEqual(0, (await AnalysisFigures.FunnelAsync(clickHouse, Engine.Quality.QualityChecks.ReconciledFunnel, 3_600_000,
            Ms(today.AddDays(-Engine.Quality.QualityChecks.ReconcileDays)), Ms(today), CancellationToken.None))[^1]);
        Assert.NotEmpty(await AnalysisFigures.RetentionAsync(clickHouse, true, Ms(today.AddDays(-7 * Engine.Quality.QualityChecks.ReconcileWeeks)), Ms(today),
            TimeZoneInfo.Utc, CancellationToken.None));
        Assert.All(findings, f => Assert.True(f.Status == Engine.Quality.QualityStatus.Ok, f.Message));

        // ClickHouse counts a page view the node never saw.
        var day = today.AddDays(-2);
        await clickHouse.ExecuteAsync($"""
            INSERT INTO {KpiAggregates.Daily} SELECT toDate('{day:yyyy-MM-dd}'), 'page_view', 'ZZ', '', 'tamper',
                uniqExactState('tamper-1'), uniqExactIfState('', toUInt8(0))
            """, CancellationToken.None);
        var pageviews = checks.Reconciliation(today).Single(f => f.Subject == "pageviews");
        Assert.Equal(Engine.Quality.QualityStatus.Fail, pageviews.Status);
        Assert.Equal(1, pageviews.Value);
        Assert.Contains($"{day:yyyy-MM-dd} ZZ: node 0, ClickHouse 1", pageviews.Message, StringComparison.Ordinal);

        // ClickHouse holds an order of 12.34 USD (at a rate of 1) that the node never saw (a row put in
        // behind the feed's back, which the views add to the aggregates): its count and its money both differ.
        var dayMs = (day.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber) * 86_400_000L;
        string At(long ms) => $"toDateTime({ms / 1000}, 'UTC'), {ms % 1000}, toDateTime({ms / 1000}, 'UTC'), {ms % 1000}, 0";
        await clickHouse.ExecuteAsync($"""
            INSERT INTO {EventsSchema.Events} (event_id, event_type, ts, ts_ms, received_at, received_ms, arrival, order_id, country, amount, currency, fx_rate_to_reporting)
            VALUES ('tamper-money', 'purchase_completed', {At(dayMs + 1)}, 'tamper-money-order', 'ZZ', 1234, 'USD', 1)
            """, CancellationToken.None);
        var money = checks.Reconciliation(today).Where(f => f.Subject is "orders" or "gmv").ToDictionary(f => f.Subject);
        Assert.Equal(Engine.Quality.QualityStatus.Fail, money["gmv"].Status);
        Assert.Contains($"{day:yyyy-MM-dd} ZZ: node 0, ClickHouse 12.34", money["gmv"].Message, StringComparison.Ordinal);
        Assert.Contains($"{day:yyyy-MM-dd} ZZ: node 0, ClickHouse 1", money["orders"].Message, StringComparison.Ordinal);

        // ClickHouse holds an order delivered for 20 (commission 2) and refunded 5 the same day, which the node never saw.
        string Status(string status, string snapshot) =>
            ClickHouseClient.Literal("""{"event_type":"order_status_changed","fx_rate_to_reporting":1,"properties":{"order_id":"tamper-ledger","status":""" + $"\"{status}\",\"snapshot\":{snapshot}}}}}");
        await clickHouse.ExecuteAsync($"""
            INSERT INTO {EventsSchema.Events} (event_id, event_type, ts, ts_ms, received_at, received_ms, arrival, order_id, country, payload)
            VALUES ('tamper-delivered', 'order_status_changed', {At(dayMs + 1)}, 'tamper-ledger', 'ZZ', {Status("ENTREGADO", """{"total":20,"commission_amount":2}""")}),
                   ('tamper-refunded', 'order_status_changed', {At(dayMs + 2)}, 'tamper-ledger', 'ZZ', {Status("REEMBOLSADO", """{"total":20,"refunded_amount":5}""")})
            """, CancellationToken.None);
        var ledger = checks.Reconciliation(today).ToDictionary(f => f.Subject);
        foreach (var (metric, figure) in new[] { ("delivered_orders", "1"), ("delivered_gmv", "20"), ("refunds", "5"), ("net_gmv", "15"), ("commissions", "1.5") })
        {
            Assert.Equal(Engine.Quality.QualityStatus.Fail, ledger[metric].Status);
            Assert.Contains($"{day:yyyy-MM-dd} ZZ: node 0, ClickHouse {figure}", ledger[metric].Message, StringComparison.Ordinal);
        }
        Assert.Equal(Engine.Quality.QualityStatus.Ok, ledger["cancelled_orders"].Status);

        // ClickHouse holds a person's page view and first order that the node never saw (rows put in
        // behind the feed's back): one more person at the funnel's first step, one more cohort member.
        var tamperMs = dayMs + 3_600_000;
        var tamperAt = $"toDateTime({tamperMs / 1000}, 'UTC')";
        // And a payment of 7.00 USD (at a rate of 1) in ZZ.
        await clickHouse.ExecuteAsync($"""
            INSERT INTO {EventsSchema.Events} (event_id, event_type, ts, ts_ms, received_at, received_ms, arrival, user_id, order_id, country, amount, currency, fx_rate_to_reporting)
            VALUES ('tamper-view', 'page_view', {tamperAt}, 0, {tamperAt}, 0, 0, 'tamper-person', '', '', 0, '', 0),
                   ('tamper-order', 'purchase_completed', {tamperAt}, 1, {tamperAt}, 1, 0, 'tamper-person', 'tamper-order', '', 0, '', 0),
                   ('tamper-payment', 'payment_succeeded', {tamperAt}, 2, {tamperAt}, 2, 0, 'tamper-person', '', 'ZZ', 700, 'USD', 1)
            """, CancellationToken.None);
        var payments = checks.Reconciliation(today).ToDictionary(f => f.Subject);
        Assert.Contains($"{day:yyyy-MM-dd} ZZ: node 0, ClickHouse 7", payments["revenue"].Message, StringComparison.Ordinal);
        Assert.Contains($"{day:yyyy-MM-dd} ZZ: node 0, ClickHouse 100", payments["payments_success_rate"].Message, StringComparison.Ordinal);
        var analyses = checks.Reconciliation(today).Where(f => f.Subject is "funnel" or "retention").ToDictionary(f => f.Subject);
        Assert.Equal(Engine.Quality.QualityStatus.Fail, analyses["funnel"].Status);
        Assert.Equal(1, analyses["funnel"].Value);
        Assert.Matches("page_view: node [0-9,]+, ClickHouse [0-9,]+", analyses["funnel"].Message);
        Assert.Equal(Engine.Quality.QualityStatus.Fail, analyses["retention"].Status);
        var monday = day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
        Assert.Contains($"cohort {monday:yyyy-MM-dd} +0 weeks: node ", analyses["retention"].Message, StringComparison.Ordinal);
        await clickHouse.ExecuteAsync($"ALTER TABLE {EventsSchema.Events} DELETE WHERE event_id IN ('tamper-view', 'tamper-order', 'tamper-payment', 'tamper-money', 'tamper-delivered', 'tamper-refunded')", CancellationToken.None);
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async(
            $"SELECT count() FROM system.mutations WHERE database = {ClickHouseClient.Literal(clickHouse.Database)} AND is_done = 0", CancellationToken.None) == 0,
            "ClickHouse deleted the rows put in", seconds: 60);

        // The month rebuilt from the events drops what no event backs; a second fill of everything adds nothing.
        await KpiAggregates.RebuildMonthsAsync(clickHouse, [$"{day:yyyyMM}"], CancellationToken.None);
        foreach (var fill in KpiAggregates.Fills)
        {
            await clickHouse.ExecuteAsync(fill, CancellationToken.None);
        }
        Assert.All(checks.Reconciliation(today), f => Assert.True(f.Status == Engine.Quality.QualityStatus.Ok, f.Message));
        AssertSameFigures(ReferenceCounts(datasets[Dataset], window.Start, window.End), await StoredCountsAsync(clickHouse, window.Start, window.End));
    }

    private static readonly string[] Reconciled = [.. KpiAggregates.Metrics];

    private static long Ms(DateOnly day) => (day.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber) * 86_400_000L;

    /// <summary>The plain reference's daily figures by country, as "metric day country value" lines, zeros left out.</summary>
    private static List<string> ReferenceCounts(KpiDataset dataset, DateOnly start, DateOnly end) =>
        [.. KpiReference.Query(dataset.Hub.Reference, new KpiQuery(start, end) { Metrics = Reconciled, GroupBy = ["country"] })
            .Where(r => r.Value is { } v && v != 0)
            .Select(r => $"{r.Metric} {r.Period} {r.Group.Values[0] ?? ""} {r.Value!.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}")
            .Order(StringComparer.Ordinal)];

    private static async Task<List<string>> StoredCountsAsync(ClickHouseClient clickHouse, DateOnly start, DateOnly end) =>
        [.. (await KpiAggregates.DailyAsync(clickHouse, start, end, CancellationToken.None))
            .Select(c => $"{c.Metric} {c.Day:yyyy-MM-dd} {c.Country} {((double)c.Value).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}")
            .Order(StringComparer.Ordinal)];
}

/// <summary>
/// The cluster nodes <see cref="ClusterKpiConformanceTests"/> asks, started once for the class (the
/// test class itself is made anew for every case): per dataset a ClickHouse database and queues of
/// its own, the node that followed the migration live and the node that loaded it afterwards.
/// </summary>
public sealed class ClusterConformanceNodes : IAsyncLifetime
{
    private readonly ClusterServers _servers = new();
    private readonly SemaphoreSlim _starting = new(1, 1);
    private readonly List<TestHub> _nodes = [];
    private Dictionary<string, (MetricsClient Live, MetricsClient Loaded)>? _apis;

    /// <summary>Per dataset, its ClickHouse URL and the node that loaded it from there (after <see cref="StartOnceAsync"/>).</summary>
    public Dictionary<string, (string Url, ClusterNode Cluster, TestHub Node)> Loaded { get; } = new(StringComparer.Ordinal);

    public Task InitializeAsync() => _servers.InitializeAsync();

    public async Task<IReadOnlyDictionary<string, (MetricsClient Live, MetricsClient Loaded)>> StartOnceAsync(KpiDatasets datasets)
    {
        await _starting.WaitAsync();
        try
        {
            return _apis ??= await StartAsync(datasets);
        }
        finally
        {
            _starting.Release();
        }
    }

    private async Task<Dictionary<string, (MetricsClient Live, MetricsClient Loaded)>> StartAsync(KpiDatasets datasets)
    {
        var apis = new Dictionary<string, (MetricsClient Live, MetricsClient Loaded)>(StringComparer.Ordinal);
        foreach (var name in ClusterKpiConformanceTests.Datasets)
        {
            var dataset = datasets[name];
            var clickHouse = await _servers.ClickHouse.NewDatabaseAsync();
            var url = new Uri(_servers.ClickHouse.Url, clickHouse.Database).ToString();
            var prefix = "conformance." + Guid.NewGuid().ToString("N");
            var stored = StoredEvents.All(dataset.Hub.Server.DataDirectory).Count;

            var (live, liveApi, _) = await StartNodeAsync(url, prefix);
            await Wait.UntilAsync(() => live.Answering, "the node loaded its (empty) projection", seconds: 120);
            // The embedded folder's stored events, as they are, through the queue and the node's writer.
            var source = dataset.Hub.Server.DataDirectory;
            try
            {
                await new ClusterMigration().RunAsync(source, live, null, CancellationToken.None);
            }
            finally
            {
                File.Delete(Path.Combine(source, ClusterMigration.CheckpointFile));
            }
            await Wait.UntilAsync(() => live.ProjectionApplied >= stored, $"the live node's projection holds the {stored} events of {name}", seconds: 120);

            var (loaded, loadedApi, loadedNode) = await StartNodeAsync(url, prefix);
            Loaded[name] = (url, loaded, loadedNode);
            await Wait.UntilAsync(() => loaded.Answering, $"the second node loaded {name} from ClickHouse", seconds: 120);
            Assert.Equal(stored, live.ProjectionApplied);
            Assert.Equal(stored, loaded.ProjectionApplied);
            apis[name] = (liveApi, loadedApi);
        }
        return apis;
    }

    private async Task<(ClusterNode Cluster, MetricsClient Api, TestHub Node)> StartNodeAsync(string clickHouseUrl, string queuePrefix)
    {
        var cluster = ClusterNode.Create(clickHouseUrl, _servers.Rabbit.Uri.ToString(), 4, queuePrefix);
        var node = await TestHub.StartAsync(o => o with { Cluster = cluster, RunScheduler = false, RunAlerts = false });
        _nodes.Add(node);
        var admin = node.Hub.Tokens.Create(new TokenRequest(Role.Admin, "cluster-conformance")).Secret;
        return (cluster, new MetricsClient(node.Client, admin), node);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
        await _servers.DisposeAsync();
        _starting.Dispose();
    }
}
