using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;
using EngineQuery = Atalaya.Engine.Kpi.Query;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// The hour rollup answers the additive parts of queries whose periods are whole UTC hours; every
/// other query reads the events. Both must give the reference's figures: in a +05:30 and a +05:45
/// zone (events), in UTC and DST zones (rollup), with the rollup turned off (events), after late
/// events that move an order's counted purchase, extend a bounced session and re-dimension a
/// store, and after restarts with and without the snapshot.
/// </summary>
public sealed class RollupTests
{
    private static readonly DemoOptions Demo = new(Days: 3, Seed: 21, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 50);

    /// <summary>Late events that change rollup entries already written, in hours other than the ones they first went to.</summary>
    private static List<JsonObject> LateEvents()
    {
        var b = new EventBuilder("rollup");
        b.PageView("2026-03-02T08:20:00Z", "u-r1", "s-r1");
        b.Order("2026-03-02T10:40:00Z", "o-r1", "st-late", "u-r1", "s-r2", total: 300);
        b.Payment("2026-03-02T10:41:00Z", succeeded: true, 300, "u-r1");
        b.Status("2026-03-02T18:00:00Z", "o-r1", "st-late", "ENTREGADO", total: 300, commission: 30);
        b.PageView("2026-03-03T05:50:00Z", "u-r2", "s-r3", Place.Colombia);
        b.Lead("2026-03-01T23:30:00Z", "u-r2", Place.Colombia);
        b.Status("2026-03-02T21:00:00Z", "o-r1", "st-late", "REEMBOLSADO", total: 300, commission: 30, refunded: 150);
        // Late: an earlier purchase of o-r1 (the counted one moves to 09:05), a second event of the
        // bounced session s-r1 and an earlier first event for s-r3, an earlier final status, and
        // the store's dimensions.
        b.Order("2026-03-02T09:05:00Z", "o-r1", "st-late", "u-r1", "s-r2", total: 280);
        b.PageView("2026-03-02T08:25:00Z", "u-r1", "s-r1");
        b.PageView("2026-03-02T23:10:00Z", "u-r2", "s-r3", Place.Colombia);
        b.Status("2026-03-02T17:15:00Z", "o-r1", "st-late", "ENTREGADO", total: 280, commission: 28);
        b.StoreCreated("2026-02-20T00:00:00Z", "st-late", "CO", "bogota-centro", category: "pharmacy");
        // An earlier partial refund: it takes 200 of the delivered 280, and the 21:00 refund is capped to the 80 left.
        b.Status("2026-03-02T19:00:00Z", "o-r1", "st-late", "REEMBOLSADO", total: 280, commission: 28, refunded: 200);
        b.Status("2026-03-02T22:00:00Z", "o-r1", "st-late", "CANCELADO", total: 280, commission: 28);
        return [.. b.Events];
    }

    /// <summary>How many of <see cref="LateEvents"/> are sent first; the rest arrive late.</summary>
    private const int EarlyCount = 7;

    private static readonly string[][] GroupBys = [[], ["country"], ["store_id"], ["country", "platform"]];

    [Theory]
    [InlineData("Asia/Kolkata")]
    [InlineData("Asia/Kathmandu")]
    [InlineData("UTC")]
    [InlineData(KpiDatasets.Stockholm)]
    public async Task Zones_with_and_without_whole_hour_offsets_equal_the_reference(string tz)
    {
        await using var hub = await KpiHub.StartWithDemoAsync(Demo);
        var late = LateEvents();
        await hub.PostAsync(late.Take(EarlyCount));
        await hub.PostAsync(late.Skip(EarlyCount));

        var failures = new List<string>();
        foreach (var aggregate in new[] { "hourly", "daily", "weekly" })
        {
            foreach (var groupBy in GroupBys)
            {
                // Hourly over two days: every KPI × store × hour stays under the API's row limit.
                var start = aggregate == "hourly" ? new DateOnly(2026, 3, 2) : new DateOnly(2026, 2, 28);
                var query = new KpiQuery(start, new DateOnly(2026, 3, 3), aggregate, tz) { GroupBy = groupBy };
                var differences = KpiComparison.Differences(KpiReference.Query(hub.Reference, query), await hub.Api.QueryAsync(query), query);
                if (differences.Count > 0)
                {
                    failures.Add(KpiComparison.Describe(query.ToString(), differences));
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task The_rollup_and_the_event_scan_give_the_same_answers_and_the_rollup_holds_what_the_events_say()
    {
        var directory = NewDirectory();
        try
        {
            await using (var hub = await OpenWithDataAsync(directory))
            {
                AssertRollupMatchesEvents(hub.Kpis.Projection, ReferenceData.FromStored(StoredEvents.All(directory)));
                var failures = new List<string>();
                foreach (var (query, label) in Questions())
                {
                    hub.Kpis.RollupEnabled = true;
                    var fromRollup = Answer(hub, query);
                    hub.Kpis.RollupEnabled = false;
                    var fromEvents = Answer(hub, query);
                    if (fromRollup != fromEvents)
                    {
                        failures.Add($"{label}:\n  rollup {Cut(fromRollup)}\n  events {Cut(fromEvents)}");
                    }
                }
                Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_restart_with_the_snapshot_and_one_without_it_rebuild_the_same_rollup_and_answers()
    {
        var directory = NewDirectory();
        try
        {
            List<string> before;
            string rollup;
            await using (var hub = await OpenWithDataAsync(directory))
            {
                before = [.. Questions().Select(q => Answer(hub, q.Query))];
                rollup = Describe(hub.Kpis.Projection.Rollup);
            }
            Assert.True(File.Exists(Hub.SnapshotPath(directory)), "no snapshot was written on shutdown");

            await using (var hub = Hub.Open(directory))
            {
                Assert.Null(hub.Kpis.SnapshotProblem);
                Assert.True(hub.Kpis.SnapshotSeq > 0, "the snapshot was not read");
                // The visit log read back and the customer history derived after the load hold what the events say.
                AssertRollupMatchesEvents(hub.Kpis.Projection, ReferenceData.FromStored(StoredEvents.All(directory)));
                Assert.Equal(rollup, Describe(hub.Kpis.Projection.Rollup));
                Assert.Equal(before, Questions().Select(q => Answer(hub, q.Query)));
            }

            // A snapshot of an older format (14, the one with 48-byte session rows and a list per
            // order in the ledger) is not misread: it is set aside and the projection rebuilt from the raw events.
            var snapshot = File.ReadAllBytes(Hub.SnapshotPath(directory));
            var versionAt = 1 + "atalaya-kpi-projection".Length;
            Assert.Equal(15, BitConverter.ToInt32(snapshot, versionAt));
            BitConverter.GetBytes(14).CopyTo(snapshot, versionAt);
            File.WriteAllBytes(Hub.SnapshotPath(directory), snapshot);
            await using (var hub = Hub.Open(directory))
            {
                Assert.Contains("not a snapshot of this format", hub.Kpis.SnapshotProblem);
                Assert.Equal(0, hub.Kpis.SnapshotSeq);
                AssertRollupMatchesEvents(hub.Kpis.Projection, ReferenceData.FromStored(StoredEvents.All(directory)));
                Assert.Equal(rollup, Describe(hub.Kpis.Projection.Rollup));
                Assert.Equal(before, Questions().Select(q => Answer(hub, q.Query)));
            }

            File.Delete(Hub.SnapshotPath(directory));
            await using (var hub = Hub.Open(directory))
            {
                Assert.Equal(0, hub.Kpis.SnapshotSeq);
                AssertRollupMatchesEvents(hub.Kpis.Projection, ReferenceData.FromStored(StoredEvents.All(directory)));
                Assert.Equal(rollup, Describe(hub.Kpis.Projection.Rollup));
                Assert.Equal(before, Questions().Select(q => Answer(hub, q.Query)));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string NewDirectory() => Path.Combine(Path.GetTempPath(), "atalaya-rollup-" + Guid.NewGuid().ToString("N"));

    /// <summary>A hub with the demo events imported, then the late events ingested in two requests (live, through the commit path).</summary>
    private static async Task<Hub> OpenWithDataAsync(string directory)
    {
        var hub = Hub.Open(directory);
        using (var ndjson = new MemoryStream())
        {
            DemoGenerator.WriteNdjson(Demo, ndjson);
            ndjson.Position = 0;
            var summary = await NdjsonImporter.ImportAsync(hub.Pipeline, ndjson, "demo");
            Assert.True(summary.Rejected == 0, string.Join("; ", summary.FirstErrors));
        }
        var late = LateEvents();
        foreach (var part in new[] { late.Take(EarlyCount), late.Skip(EarlyCount) })
        {
            var result = await hub.Pipeline.IngestNativeAsync(Encoding.UTF8.GetBytes(EventBuilder.Ndjson(part)), ndjson: true, "test");
            Assert.Empty(result.Rejected);
        }
        return hub;
    }

    private static IEnumerable<(EngineQuery.KpiQuery Query, string Label)> Questions()
    {
        var metrics = Enum.GetValues<KpiId>();
        foreach (var tz in new[] { "UTC", KpiDatasets.Stockholm, KpiDatasets.Santiago })
        {
            var zone = TimeZoneInfo.FindSystemTimeZoneById(tz);
            foreach (var aggregate in new[] { EngineQuery.Aggregate.Hourly, EngineQuery.Aggregate.Daily, EngineQuery.Aggregate.Monthly })
            {
                foreach (var groupBy in GroupBys)
                {
                    var dimensions = groupBy.Select(g => Engine.Catalog.Dimensions.TryParse(g, out var d) ? d : throw new ArgumentException(g)).ToList();
                    var query = new EngineQuery.KpiQuery(metrics, new DateOnly(2026, 2, 27), new DateOnly(2026, 3, 3), aggregate, zone,
                        EngineQuery.DimensionFilter.None, dimensions, AccessScope.Everything, int.MaxValue);
                    yield return (query, $"{tz} {aggregate} [{string.Join(",", groupBy)}]");
                }
            }
        }
    }

    /// <summary>Every row of an answer, values rounded far below the reference's tolerance (sums may be added in another order).</summary>
    private static string Answer(Hub hub, EngineQuery.KpiQuery query) =>
        string.Join("\n", hub.Kpis.Query(query).Rows.Select(r =>
            $"{r.Period}|{r.Metric}|{string.Join(",", r.Group)}|{(r.Value is { } v ? Math.Round(v, 6).ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "null")}"));

    private static string Cut(string text) => text.Length > 400 ? text[..400] + "…" : text;

    /// <summary>
    /// The rollup against the events: counted purchases (orders, units, GMV), payments, leads and
    /// counted final statuses, page views and store visits from the kind columns; orders, sessions, bounces and page views per hour from the reference's reading of
    /// the stored events; no count below zero.
    /// </summary>
    private static void AssertRollupMatchesEvents(KpiProjection projection, ReferenceData reference)
    {
        var rollup = projection.Rollup;
        Assert.True(rollup.Complete);
        Assert.True(rollup.Orders.Count > 0 && rollup.Sessions.Count > 0 && rollup.Payments.Count > 0 && rollup.Finals.Count > 0 && rollup.Leads.Count > 0,
            "the rollup is empty: queries could not be using it");

        var purchases = projection.Kinds[EventKind.PurchaseCompleted];
        var counted = Enumerable.Range(0, purchases.Count).Where(k => purchases.Counted[k]).ToList();
        Assert.Equal(counted.Count, Total(rollup.Orders, HourRollup.OrderCount));
        Assert.Equal(counted.Sum(k => purchases.Aux[k]), Total(rollup.Orders, HourRollup.OrderUnits));
        Assert.Equal(counted.Sum(k => purchases.Amount[k]), Sum(rollup.Orders, HourRollup.OrderGmv), 6);
        Assert.Equal(projection.Kinds[EventKind.PaymentSucceeded].Count, Total(rollup.Payments, HourRollup.PaymentSucceeded));
        Assert.Equal(projection.Kinds[EventKind.PaymentFailed].Count, Total(rollup.Payments, HourRollup.PaymentFailed));
        Assert.Equal(projection.Kinds[EventKind.LeadCreated].Count, Total(rollup.Leads, HourRollup.LeadCount));
        var statuses = projection.Kinds[EventKind.OrderStatusChanged];
        var delivered = Enumerable.Range(0, statuses.Count).Count(k => statuses.Counted[k] && projection.Ledger.EntryAt(k).Role == LedgerRole.Delivered);
        Assert.Equal(delivered, Total(rollup.Finals, HourRollup.FinalDelivered));

        static long Hour(DateTimeOffset t) => (long)Math.Floor(t.ToUnixTimeMilliseconds() / (double)HourRollup.HourMs);

        // The customer history: each user's first counted purchase, the customers, orders and GMV per hour.
        var firstOrders = counted.Where(k => purchases.User[k] != 0).GroupBy(k => purchases.User[k]).ToDictionary(g => g.Key, g => g.Min(k => purchases.Ts[k]));
        Assert.Equal(firstOrders.Count, projection.Customers.Customers);
        for (var user = 1; user <= projection.Pools.Users.Count; user++)
        {
            Assert.Equal(firstOrders.GetValueOrDefault(user, long.MaxValue), projection.Customers.FirstOrder(user));
        }
        Assert.Equal(counted.Count, Total(projection.Customers.Hours, 0));
        Assert.Equal(counted.Sum(k => purchases.Amount[k]), Sum(projection.Customers.Hours, 0), 6);

        // The visit log: the distinct users of each hour are the reference's.
        var visits = projection.Visits;
        Assert.True(visits.Complete && visits.Count > 0);
        var logged = new SortedDictionary<long, long>();
        foreach (var hourUsers in Enumerable.Range(0, visits.Count).GroupBy(e => visits.Hours[e], e => visits.Users[e]))
        {
            logged[hourUsers.Key] = hourUsers.Distinct().Count();
        }
        var expected = new SortedDictionary<long, long>(reference.Events.Where(e => e.User is not null)
            .GroupBy(e => Hour(e.Timestamp)).ToDictionary(g => g.Key, g => (long)g.Select(e => e.User).Distinct().Count()));
        Assert.Equal(expected, logged);
        // … and of each hour and country (the event's store's country when the store is known).
        var loggedByCountry = new SortedDictionary<string, long>(Enumerable.Range(0, visits.Count)
            .GroupBy(e => $"{visits.Hours[e]}|{projection.Pools.Dimension[visits.Countries[e]]}", e => visits.Users[e])
            .ToDictionary(g => g.Key, g => (long)g.Distinct().Count()), StringComparer.Ordinal);
        var expectedByCountry = new SortedDictionary<string, long>(reference.Events.Where(e => e.User is not null)
            .GroupBy(e => $"{Hour(e.Timestamp)}|{e.Dimensions.Get("country")}")
            .ToDictionary(g => g.Key, g => (long)g.Select(e => e.User).Distinct().Count()), StringComparer.Ordinal);
        Assert.Equal(expectedByCountry, loggedByCountry);
        Assert.True(visits.Count < reference.Events.Count, "the visit log keeps an entry per event");

        Assert.True(rollup.ViewHours.Count > 0, "no page views in the rollup");
        Assert.Equal(projection.Kinds[EventKind.PageView].Count, Total(rollup.ViewHours, HourRollup.ViewPageViews));
        Assert.Equal(projection.Kinds[EventKind.StoreVisited].Count, Total(rollup.ViewHours, HourRollup.ViewStoreVisits));

        Assert.Equal(Expected(reference.Orders.Select(o => Hour(o.Timestamp))), PerHour(rollup.Orders, HourRollup.OrderCount));
        // The ledger's lines per hour: deliveries, cancellations and refunds as the reference reads them.
        foreach (var (kind, column) in new[] { ("delivery", HourRollup.FinalDelivered), ("cancellation", HourRollup.FinalCancelled), ("refund", HourRollup.FinalRefundLines) })
        {
            Assert.Equal(Expected(reference.Ledger.Where(l => l.Kind == kind).Select(l => Hour(l.Timestamp))), PerHour(rollup.Finals, column));
        }
        Assert.Equal((double)reference.Ledger.Where(l => l.Kind == "refund").Sum(l => l.ReportedAmount ?? 0m), Sum(rollup.Finals, HourRollup.FinalRefunds), 6);
        Assert.Equal((double)reference.Ledger.Where(l => l.Kind == "refund").Sum(l => l.ReportedCommission ?? 0m), Sum(rollup.Finals, HourRollup.FinalCommissionsReversed), 6);
        Assert.Equal(Expected(reference.Sessions.Select(s => Hour(s.Start))), PerHour(rollup.Sessions, HourRollup.SessionCount));
        Assert.Equal(Expected(reference.Sessions.Where(s => s.EventCount == 1).Select(s => Hour(s.Start))), PerHour(rollup.Sessions, HourRollup.SessionBounces));
        Assert.Equal(reference.Sessions.Sum(s => s.DurationSeconds * 1000), Sum(rollup.Sessions, HourRollup.SessionDurationMs), 3);
        Assert.Equal(Expected(reference.Events.Where(e => e.Type == "page_view").Select(e => Hour(e.Timestamp))), PerHour(rollup.ViewHours, HourRollup.ViewPageViews));

        foreach (var (table, columns) in new[] { (rollup.Orders, 2), (rollup.Payments, 2), (rollup.Leads, 1), (rollup.Finals, 3), (rollup.Sessions, 8), (rollup.ViewHours, 2) })
        {
            for (var column = 0; column < columns; column++)
            {
                Assert.True(table.Counts(column).ToArray().All(v => v >= 0), "a rollup count below zero");
            }
        }
    }

    private static SortedDictionary<long, long> Expected(IEnumerable<long> hours) =>
        new(hours.GroupBy(h => h).ToDictionary(g => g.Key, g => (long)g.Count()));

    /// <summary>A count column summed per hour, hours whose total is 0 left out.</summary>
    private static SortedDictionary<long, long> PerHour(RollupTable table, int column)
    {
        var perHour = new SortedDictionary<long, long>();
        var keys = table.Keys;
        var counts = table.Counts(column);
        for (var e = 0; e < keys.Length; e++)
        {
            perHour[RollupTable.HourOf(keys[e])] = perHour.GetValueOrDefault(RollupTable.HourOf(keys[e])) + counts[e];
        }
        foreach (var empty in perHour.Where(p => p.Value == 0).Select(p => p.Key).ToList())
        {
            perHour.Remove(empty);
        }
        return perHour;
    }

    private static long Total(RollupTable table, int column)
    {
        long total = 0;
        foreach (var value in table.Counts(column))
        {
            total += value;
        }
        return total;
    }

    private static double Sum(RollupTable table, int column)
    {
        double total = 0;
        foreach (var value in table.Sums(column))
        {
            total += value;
        }
        return total;
    }

    /// <summary>The rollup's entries in key order, every column.</summary>
    private static string Describe(HourRollup rollup)
    {
        var text = new StringBuilder();
        foreach (var (name, table, counts, sums) in new[]
        {
            ("orders", rollup.Orders, 2, 1), ("payments", rollup.Payments, 2, 1), ("leads", rollup.Leads, 1, 0),
            ("finals", rollup.Finals, 3, 5), ("sessions", rollup.Sessions, 8, 1), ("view hours", rollup.ViewHours, 2, 0),
        })
        {
            var keys = table.Keys.ToArray();
            foreach (var e in Enumerable.Range(0, keys.Length).OrderBy(e => keys[e]))
            {
                text.Append(name).Append(' ').Append(keys[e]);
                for (var c = 0; c < counts; c++)
                {
                    text.Append(' ').Append(table.Counts(c)[e]);
                }
                for (var s = 0; s < sums; s++)
                {
                    text.Append(' ').Append(Math.Round(table.Sums(s)[e], 6).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                }
                text.Append('\n');
            }
        }
        return text.ToString();
    }
}
