using System.Globalization;
using System.Text.Json.Nodes;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// new_customers, returning_customers and ltv over everything are carried on from query to query
/// (the engine keeps a tally per period grid and adds only the orders written since): the same
/// questions, asked after each round of new orders, must equal the reference over every stored
/// event. The rounds bring what a kept tally could get wrong: repeat and new customers on later
/// days, orders after the window, a first order placed before the window by customers the tally
/// already counted as new in it (they become returning), and an order resent with an earlier time
/// (its first purchase moves, so a purchase already counted stops counting). Every round changes
/// the reference's answer, so a tally that was not carried on fails.
/// </summary>
public sealed class CustomerTallyTests
{
    private static readonly DateOnly First = new(2026, 4, 3);
    private static readonly DateOnly Last = new(2026, 4, 10);
    private static readonly string[] Metrics = ["new_customers", "returning_customers", "ltv"];

    [Fact]
    public async Task Customers_asked_between_rounds_of_orders_equal_the_reference_after_each()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("customers");
        var random = new Random(17);
        var orders = 0;
        string At(int day) => new DateTime(2026, 4, day, random.Next(24), random.Next(60), 0, DateTimeKind.Utc)
            .ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        // Orders of customers u{from}..u{to} on random days of April, at one of two stores.
        List<JsonObject> Round(int count, int from, int to, int fromDay, int toDay) =>
        [
            .. Enumerable.Range(0, count).Select(_ =>
                b.Order(At(fromDay + random.Next(toDay - fromDay + 1)), $"o{++orders}", random.Next(2) == 0 ? "mx-1" : "mx-2", $"u{from + random.Next(to - from + 1)}")),
        ];

        await hub.PostAsync([
            b.StoreCreated("2026-03-01T00:00:00Z", "mx-1", "MX", "cdmx-norte"),
            b.StoreCreated("2026-03-01T00:00:00Z", "mx-2", "MX", "cdmx-norte"),
            .. Round(50, 1, 30, fromDay: 3, toDay: 10),
        ]);
        KpiQuery[] queries =
        [
            new(First, Last) { Metrics = Metrics },
            new(First, Last, Aggregate: "weekly") { Metrics = Metrics },
            new(First, Last, Tz: "America/Mexico_City") { Metrics = Metrics },
        ];

        var rounds = new (string When, Func<List<JsonObject>> Events)[]
        {
            ("repeat and new customers on later days", () => Round(40, 10, 50, fromDay: 6, toDay: 10)),
            ("orders after the window, and new customers in it", () => [.. Round(10, 1, 60, fromDay: 11, toDay: 14), .. Round(10, 61, 80, fromDay: 4, toDay: 9)]),
            ("first orders before the window by customers already counted as new in it", () => Round(25, 1, 40, fromDay: 1, toDay: 2)),
            ("an order resent earlier: its first purchase moves to another day and customer", () =>
                [b.Order("2026-04-02T05:00:00Z", "o1", "mx-1", "u99"), b.Order("2026-04-02T06:00:00Z", "o2", "mx-1", "u98"),
                 b.Order("2026-04-03T07:00:00Z", "o3", "mx-2", "u97")]),
            ("new customers again after the recount", () => Round(20, 81, 120, fromDay: 3, toDay: 10)),
        };
        await RoundsOfEvents.AskBetweenAsync(hub, queries, rounds);
    }
    /// <summary>
    /// The same rounds for grouped and filtered questions (a tally per grouping, counted from every
    /// purchase once and then carried on), with stores in two countries and customers who buy in
    /// both: a customer is new in each country where they first order, so a tally that kept one
    /// set per user across groups, or missed an order placed earlier in another country, fails.
    /// </summary>
    [Fact]
    public async Task Grouped_and_filtered_customers_asked_between_rounds_equal_the_reference_after_each()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("customers-by-country");
        var random = new Random(23);
        var orders = 0;
        string[] stores = ["mx-1", "mx-2", "co-1"];
        string At(int day) => new DateTime(2026, 4, day, random.Next(24), random.Next(60), 0, DateTimeKind.Utc)
            .ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        List<JsonObject> Round(int count, int from, int to, int fromDay, int toDay, string[]? at = null) =>
        [
            .. Enumerable.Range(0, count).Select(_ =>
            {
                var where = at ?? stores;
                return b.Order(At(fromDay + random.Next(toDay - fromDay + 1)), $"o{++orders}", where[random.Next(where.Length)], $"u{from + random.Next(to - from + 1)}");
            }),
        ];

        await hub.PostAsync([
            b.StoreCreated("2026-03-01T00:00:00Z", "mx-1", "MX", "cdmx-norte"),
            b.StoreCreated("2026-03-01T00:00:00Z", "mx-2", "MX", "cdmx-sur"),
            b.StoreCreated("2026-03-01T00:00:00Z", "co-1", "CO", "bogota-norte"),
            .. Round(60, 1, 30, fromDay: 3, toDay: 10),
        ]);
        KpiQuery[] queries =
        [
            new(First, Last) { Metrics = Metrics, GroupBy = ["country"] },
            new(First, Last, Aggregate: "weekly") { Metrics = Metrics, GroupBy = ["country"] },
            new(First, Last, Tz: "America/Mexico_City") { Metrics = Metrics, GroupBy = ["country", "hub"] },
            new(First, Last) { Metrics = Metrics, Filters = DimensionFilters.Of(("country", ["MX"])) },
            new(First, Last, Aggregate: "weekly") { Metrics = Metrics, GroupBy = ["store_id"], Filters = DimensionFilters.Of(("hub", ["cdmx-norte", "bogota-norte"])) },
        ];

        var rounds = new (string When, Func<List<JsonObject>> Events)[]
        {
            ("repeat and new customers on later days, in both countries", () => Round(40, 10, 50, fromDay: 6, toDay: 10)),
            ("Mexican customers' first orders in Colombia", () => Round(15, 1, 30, fromDay: 4, toDay: 9, at: ["co-1"])),
            ("orders after the window, and new customers in it", () => [.. Round(10, 1, 60, fromDay: 11, toDay: 14), .. Round(10, 61, 80, fromDay: 4, toDay: 9)]),
            ("first orders before the window by customers already counted as new in it", () => Round(25, 1, 40, fromDay: 1, toDay: 2)),
            ("an order resent earlier: its first purchase moves to another day, country and customer", () =>
                [b.Order("2026-04-02T05:00:00Z", "o1", "co-1", "u99"), b.Order("2026-04-02T06:00:00Z", "o2", "mx-1", "u98"),
                 b.Order("2026-04-03T07:00:00Z", "o3", "mx-2", "u97")]),
            ("new customers again after the recount", () => Round(20, 81, 120, fromDay: 3, toDay: 10)),
        };
        await RoundsOfEvents.AskBetweenAsync(hub, queries, rounds);
    }
}
