using System.Globalization;
using System.Text.Json.Nodes;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// customer_churn_rate and store_churn_rate are carried on from query to query (the engine keeps
/// each grouping's tally and adds only the orders written since): the same questions, asked after
/// each round of new orders, must equal the reference over every stored event. The rounds bring what a kept tally
/// could get wrong: repeat customers on later days, new customers, orders outside the window, an
/// order resent with an earlier time (its first purchase moves, so an order already counted stops
/// counting), and a store whose store_created arrives after its orders (they move from the country of their context (Mexico) to its country (Sweden)).
/// Every round changes the reference's answer, so a tally that was not carried on fails.
/// </summary>
public sealed class ChurnTallyTests
{
    private static readonly DateOnly First = new(2026, 4, 3);
    private static readonly DateOnly Last = new(2026, 4, 10);
    private static readonly string[] Mexico = ["mx-1", "mx-2", "mx-3", "mx-4", "mx-5", "mx-6"];
    private static readonly string[] Colombia = ["co-1", "co-2", "co-3", "co-4"];
    private static readonly string[] Metrics = ["customer_churn_rate", "store_churn_rate"];

    [Fact]
    public async Task Churn_asked_between_rounds_of_orders_equals_the_reference_after_each()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("churn");
        var random = new Random(11);
        var orders = 0;
        // Orders of customers u1..u{customers} on random days from 1 April to 12 April (the window
        // and its previous days are 2–10 April), at some of the stores.
        List<JsonObject> Round(int count, int customers, string[] stores, int fromDay = 1, int toDay = 12) =>
        [
            .. Enumerable.Range(0, count).Select(_ =>
            {
                var day = fromDay + random.Next(toDay - fromDay + 1);
                var at = new DateTime(2026, 4, day, random.Next(24), random.Next(60), 0, DateTimeKind.Utc);
                return b.Order(at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), $"o{++orders}",
                    stores[random.Next(stores.Length)], $"u{1 + random.Next(customers)}");
            }),
        ];

        await hub.PostAsync([
            .. Mexico.Select(store => b.StoreCreated("2026-03-01T00:00:00Z", store, "MX", "cdmx-norte")),
            .. Colombia.Select(store => b.StoreCreated("2026-03-01T00:00:00Z", store, "CO", "bogota")),
            .. Round(60, 30, [.. Mexico, .. Colombia]),
        ]);
        KpiQuery[] queries =
        [
            new(First, Last) { Metrics = Metrics },
            new(First, Last) { Metrics = Metrics, GroupBy = ["country"] },
            new(First, Last) { Metrics = Metrics, Filters = DimensionFilters.Of(("country", ["MX"])) },
        ];

        var rounds = new (string When, Func<List<JsonObject>> Events)[]
        {
            ("repeat and new customers on later days", () => Round(40, 45, [.. Mexico, .. Colombia], fromDay: 6)),
            ("orders outside the window and new ones inside", () =>
                [.. Round(10, 45, Mexico, fromDay: 11, toDay: 12), .. Round(15, 60, Colombia, fromDay: 2, toDay: 4)]),
            ("an order resent earlier: its first purchase moves to another day, customer and store", () =>
                [b.Order("2026-04-02T05:00:00Z", "o1", "co-9", "u99"), b.Order("2026-04-02T06:00:00Z", "o2", "co-9", "u98"),
                 b.Order("2026-04-02T07:00:00Z", "o3", "co-9", "u97")]),
            ("orders at stores not created yet (their country is their context's, Mexico)", () => Round(30, 70, ["late-1", "late-2"], fromDay: 2, toDay: 9)),
            ("a store created after its orders were asked about: they move to its country, Sweden", () =>
                [b.StoreCreated("2026-03-01T00:00:00Z", "late-1", "SE", "stockholm")]),
        };
        await RoundsOfEvents.AskBetweenAsync(hub, queries, rounds);
    }
}
