using System.Globalization;
using System.Text.Json.Nodes;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// The hour rollup's sums of whole periods (orders, payments, leads, the ledger's lines, sessions)
/// are kept from query to query while their days are unchanged: the same questions, asked after
/// each round of new events, must equal the reference over every stored event. The rounds change
/// what a kept sum could hold on to: events on the window's older days (a kept day must be added up
/// again), on its last day only (the other days' sums may serve), a cancellation and a refund of an
/// old order (the ledger's lines of a kept day), and a store moving to another country (every entry
/// remapped at once: no kept sum of any day holds). Every round changes the reference's answers, so
/// a sum kept past a change fails.
/// </summary>
public sealed class KeptRollupSumsTests
{
    private static readonly DateOnly First = new(2026, 5, 4);
    private static readonly DateOnly Last = new(2026, 5, 11);

    private static readonly string[] Metrics =
    [
        "gmv", "orders", "units_sold", "aov", "active_stores", "payments_success_rate", "revenue", "leads", "delivered_gmv", "delivered_orders",
        "commissions", "cancelled_orders", "cancelled_gmv", "refunds", "net_gmv", "sessions", "bounce_rate", "avg_session_duration_s",
    ];

    [Fact]
    public async Task Money_and_sessions_asked_between_rounds_of_events_equal_the_reference_after_each()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("kept");
        var random = new Random(23);
        var orders = 0;
        var sessions = 0;
        string At(int day) => new DateTime(2026, 5, day, random.Next(24), random.Next(60), random.Next(60), DateTimeKind.Utc)
            .ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        string[] stores = ["mx-1", "mx-2", "co-1"];
        // A day's worth of everything the rollup holds, at random hours of days fromDay..toDay.
        List<JsonObject> Round(int count, int fromDay, int toDay)
        {
            var events = new List<JsonObject>();
            for (var i = 0; i < count; i++)
            {
                var day = fromDay + random.Next(toDay - fromDay + 1);
                var store = stores[random.Next(stores.Length)];
                var place = store.StartsWith("co", StringComparison.Ordinal) ? Place.Colombia : Place.Mexico;
                var user = $"u{random.Next(40)}";
                var session = $"s{++sessions}";
                var at = At(day);
                events.Add(b.PageView(at, user, session, place));
                if (random.Next(3) > 0)
                {
                    events.Add(b.StoreVisit(at, user, session, store, place));
                }
                var order = $"o{++orders}";
                events.Add(b.Order(at, order, store, user, session, total: 110 + random.Next(500) + (0.01m * random.Next(100)), place: place));
                events.Add(b.Payment(at, random.Next(4) > 0, 10 + random.Next(90), user, place: place));
                if (random.Next(2) == 0)
                {
                    events.Add(b.Lead(at, user, place));
                }
                if (random.Next(3) == 0)
                {
                    events.Add(b.Status(At(day), order, store, "ENTREGADO", total: 75.25m, commission: 7.5m));
                }
            }
            return events;
        }

        await hub.PostAsync([
            b.StoreCreated("2026-04-01T00:00:00Z", "mx-1", "MX", "cdmx-norte"),
            b.StoreCreated("2026-04-01T00:00:00Z", "mx-2", "MX", "cdmx-sur"),
            b.StoreCreated("2026-04-01T00:00:00Z", "co-1", "CO", "bogota"),
            .. Round(60, fromDay: 4, toDay: 11),
        ]);
        KpiQuery[] queries =
        [
            new(First, Last) { Metrics = Metrics },
            new(First, Last) { Metrics = Metrics, GroupBy = ["country"] },
            new(First, Last, Aggregate: "weekly") { Metrics = Metrics, GroupBy = ["country"] },
            new(First, Last, Tz: "America/Mexico_City") { Metrics = Metrics },
            new(First, Last) { Metrics = Metrics, Filters = DimensionFilters.Of(("country", ["MX"])) },
        ];

        var rounds = new (string When, Func<List<JsonObject>> Events)[]
        {
            ("events on the window's older days", () => Round(15, fromDay: 4, toDay: 6)),
            ("events on its last day only", () => Round(10, fromDay: 11, toDay: 11)),
            ("a cancellation and a refund of old orders", () =>
                [b.Status("2026-05-05T10:00:00Z", "o1", "mx-1", "CANCELADO", total: 40m, commission: 4m),
                 b.Status("2026-05-06T11:00:00Z", "o2", "mx-2", "REEMBOLSADO", total: 60m, commission: 6m, refunded: 25m, commissionReversed: 2.5m)]),
            ("a store moving to another country", () => [b.StoreCreated("2026-05-12T00:00:00Z", "mx-2", "CO", "bogota")]),
            ("events on every day after the move", () => Round(20, fromDay: 4, toDay: 11)),
        };
        await RoundsOfEvents.AskBetweenAsync(hub, queries, rounds);
    }
}
