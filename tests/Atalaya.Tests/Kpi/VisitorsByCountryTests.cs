using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// Distinct visitors by country come from the visit log's (hour, user, country) entries and, with
/// more than 64 group × period cells, from one group and period set per user. Against the
/// reference: users seen in two countries in the same week, a store whose events arrive before its
/// store_created moves them to its own country, a late visit in a week already counted (the
/// visitor cache), country filters, and a restart from the snapshot.
/// </summary>
public sealed class VisitorsByCountryTests
{
    private static readonly string[] Visitors = ["visitors", "sessions", "bounce_rate", "conversion_rate", "new_customers", "returning_customers", "ltv"];

    [Fact]
    public async Task Weekly_visitors_by_country_equal_the_reference_across_a_late_store_and_a_restart()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("vbc");
        var events = new List<System.Text.Json.Nodes.JsonObject>();
        var places = new[] { Place.Mexico, Place.Colombia, Place.Sweden, Place.Chile, Place.Backend };
        // 13 weeks × 5 groups = 65 cells: one more than a 64-bit set per user holds.
        for (var day = 0; day < 91; day++)
        {
            var at = new DateTime(2026, 1, 1, 9, 0, 0, DateTimeKind.Utc).AddDays(day);
            for (var u = 0; u < 12; u++)
            {
                var place = places[(u + (day / 30)) % places.Length];
                var user = $"u{(u * 7 + day) % 40}";
                events.Add(b.PageView(EventBuilder.At(at.AddMinutes(u * 5)), user, $"s-{day}-{u}", place));
                if ((u + day) % 9 == 0)
                {
                    // The same user in a second country in the same hour and week.
                    events.Add(b.PageView(EventBuilder.At(at.AddMinutes(u * 5 + 1)), user, $"s-{day}-{u}", places[(u + 1) % places.Length]));
                }
            }
        }
        events.Add(b.StoreCreated("2025-12-01T00:00:00Z", "st-1", "MX", "cdmx-norte"));
        events.Add(b.Order("2026-02-03T11:00:00Z", "o1", "st-1", "u3", "s-o1"));
        events.Add(b.Order("2026-03-03T11:00:00Z", "o2", "st-1", "u3", "s-o2"));
        // A store in Sweden whose visits arrive before its store_created (sent with Colombian context).
        events.Add(b.StoreVisit("2026-02-10T10:00:00Z", "u-late", "s-late", "st-late", Place.Colombia));
        events.Add(b.ProductView("2026-02-10T10:01:00Z", "u-late", "s-late", "st-late", "p-late", "Kanelbulle", Place.Colombia));
        await hub.PostAsync(events);

        var queries = new[]
        {
            new KpiQuery(new DateOnly(2026, 1, 1), new DateOnly(2026, 3, 31), "weekly") { GroupBy = ["country"], Metrics = Visitors },
            new KpiQuery(new DateOnly(2026, 1, 5), new DateOnly(2026, 2, 15), "daily") { GroupBy = ["country"], Metrics = ["visitors"] },
            new KpiQuery(new DateOnly(2026, 1, 1), new DateOnly(2026, 3, 31), "weekly")
            {
                GroupBy = ["country"], Metrics = ["visitors"], Filters = DimensionFilters.Of(("country", ["SE", "CO"])),
            },
            new KpiQuery(new DateOnly(2026, 1, 1), new DateOnly(2026, 3, 31), "monthly") { Metrics = ["visitors"], Filters = DimensionFilters.Of(("country", ["SE"])) },
            new KpiQuery(new DateOnly(2026, 1, 1), new DateOnly(2026, 3, 31), "weekly", KpiDatasets.Stockholm) { GroupBy = ["country"], Metrics = ["visitors"] },
        };
        await AssertAllSame(hub, queries, "before the store_created");
        var lateBefore = KpiReference.Query(hub.Reference, queries[0]).Where(r => r.Metric == "visitors" && r.Group.Values[0] == "SE").Sum(r => r.Value ?? 0);

        await hub.PostAsync([b.StoreCreated("2026-01-01T00:00:00Z", "st-late", "SE", "sthlm-city")]);
        var lateAfter = KpiReference.Query(hub.Reference, queries[0]).Where(r => r.Metric == "visitors" && r.Group.Values[0] == "SE").Sum(r => r.Value ?? 0);
        Assert.Equal(lateBefore + 1, lateAfter);
        await AssertAllSame(hub, queries, "after the store_created");

        // Counts of past weeks are kept between queries: a visit arriving late in an old week is counted anew.
        var weekBefore = KpiReference.Query(hub.Reference, queries[0]).Single(r => r.Metric == "visitors" && r.Period == "2026-01-05" && r.Group.Values[0] == "SE");
        await hub.PostAsync([b.PageView("2026-01-07T10:00:00Z", "u-newcomer", "s-newcomer", Place.Sweden)]);
        var weekAfter = KpiReference.Query(hub.Reference, queries[0]).Single(r => r.Metric == "visitors" && r.Period == "2026-01-05" && r.Group.Values[0] == "SE");
        Assert.Equal(weekBefore.Value + 1, weekAfter.Value);
        await AssertAllSame(hub, queries, "after a late visit in an old week");

        await hub.RestartAsync();
        await AssertAllSame(hub, queries, "after a restart");
    }

    [Fact]
    public async Task The_open_week_counted_on_from_the_last_query_equals_the_reference_as_visits_keep_arriving()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("open");
        var places = new[] { Place.Mexico, Place.Colombia, Place.Sweden };
        var first = new List<System.Text.Json.Nodes.JsonObject>();
        for (var day = 0; day < 28; day++)
        {
            for (var u = 0; u < 6; u++)
            {
                first.Add(b.PageView(EventBuilder.At(new DateTime(2026, 2, 2, 8 + u, 0, 0, DateTimeKind.Utc).AddDays(day)), $"u{(u + day) % 15}", $"s-{day}-{u}", places[u % 3]));
            }
        }
        await hub.PostAsync(first);
        var queries = new[]
        {
            new KpiQuery(new DateOnly(2026, 2, 2), new DateOnly(2026, 3, 1), "weekly") { GroupBy = ["country"], Metrics = ["visitors"] },
            new KpiQuery(new DateOnly(2026, 2, 16), new DateOnly(2026, 3, 1), "daily") { Metrics = ["visitors"] },
        };
        await AssertAllSame(hub, queries, "before the open week's new visits");
        // Each round: a repeat visitor, a user new to the hub, a known user in a second country and a
        // country no visit had, all in the last week, whose count the previous query's tally goes on from.
        for (var round = 0; round < 3; round++)
        {
            var at = new DateTime(2026, 2, 25, 10 + round, 0, 0, DateTimeKind.Utc);
            await hub.PostAsync(
            [
                b.PageView(EventBuilder.At(at), "u1", $"r{round}-a", Place.Mexico),
                b.PageView(EventBuilder.At(at.AddMinutes(1)), $"new-{round}", $"r{round}-b", Place.Sweden),
                b.PageView(EventBuilder.At(at.AddMinutes(2)), "u2", $"r{round}-c", Place.Chile),
                b.PageView(EventBuilder.At(at.AddMinutes(3)), $"peru-{round}", $"r{round}-d", new Place("PE")),
            ]);
            await AssertAllSame(hub, queries, $"after round {round + 1}");
        }
    }

    private static async Task AssertAllSame(KpiHub hub, IEnumerable<KpiQuery> queries, string when)
    {
        foreach (var query in queries)
        {
            var differences = KpiComparison.Differences(KpiReference.Query(hub.Reference, query), await hub.Api.QueryAsync(query), query);
            Assert.True(differences.Count == 0, KpiComparison.Describe($"{when}: {query}", differences));
        }
    }
}
