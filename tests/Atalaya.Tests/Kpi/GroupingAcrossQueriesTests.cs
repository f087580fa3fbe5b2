using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// The hub numbers each grouping's keys once and carries them from query to query, extending them
/// as new dimension combinations arrive. Here the same groupings (by one dimension, by two, filtered,
/// with combinations inside and outside the filter) are asked, then events with new countries,
/// stores, platforms and sources arrive, interleaved with the known ones, and the same queries must
/// equal the reference over the new stored events, new groups included.
/// </summary>
public sealed class GroupingAcrossQueriesTests
{
    [Fact]
    public async Task Groups_asked_again_after_new_combinations_arrive_equal_the_reference()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("grp");
        await hub.PostAsync([
            b.StoreCreated("2026-04-01T00:00:00Z", "st-1", "MX", "cdmx-norte"),
            b.StoreCreated("2026-04-01T00:00:00Z", "st-2", "CO", "bogota-centro"),
            .. Visits(b, "a", "2026-04-02", Place.Mexico, "st-1"),
            .. Visits(b, "b", "2026-04-03", Place.Colombia, "st-2"),
        ]);
        var start = new DateOnly(2026, 4, 1);
        var end = new DateOnly(2026, 4, 6);
        KpiQuery[] queries =
        [
            new(start, end) { GroupBy = ["country"] },
            new(start, end) { GroupBy = ["platform"], Filters = DimensionFilters.Of(("country", ["MX", "SE"])) },
            new(start, end) { GroupBy = ["store_id"] },
            new(start, end, "total") { GroupBy = ["country", "source"] },
            new(start, end) { GroupBy = ["country"], Filters = DimensionFilters.Of(("platform", ["web"])) },
        ];
        var before = new List<List<KpiRow>>();
        foreach (var query in queries)
        {
            before.Add(KpiReference.Query(hub.Reference, query));
            KpiComparison.AssertSame(before[^1], await hub.Api.QueryAsync(query), query, "before the new combinations");
        }

        // New countries, a store of a new country, platforms and sources not seen before, beside
        // more of the known combinations, so that new and old keys interleave in the combination ids.
        await hub.PostAsync([
            b.StoreCreated("2026-04-03T00:00:00Z", "st-3", "SE", "stockholm"),
            .. Visits(b, "c", "2026-04-04", Place.Sweden, "st-3"),
            .. Visits(b, "d", "2026-04-04", Place.Mexico, "st-1"),
            .. Visits(b, "e", "2026-04-05", Place.Chile, "st-1"),
            .. Visits(b, "f", "2026-04-05", Place.Sweden with { Platform = "web", Source = "tiktok" }, "st-3"),
            .. Visits(b, "g", "2026-04-06", Place.Colombia, "st-2"),
        ]);

        for (var i = 0; i < queries.Length; i++)
        {
            var after = KpiReference.Query(hub.Reference, queries[i]);
            Assert.NotEqual(before[i].Select(r => r.ToString()), after.Select(r => r.ToString()));
            KpiComparison.AssertSame(after, await hub.Api.QueryAsync(queries[i]), queries[i], "after the new combinations");
        }
    }

    /// <summary>A visitor's page view, product view and order on one day, in one place and store.</summary>
    private static IEnumerable<System.Text.Json.Nodes.JsonObject> Visits(EventBuilder b, string name, string day, Place place, string store)
    {
        for (var i = 0; i < 3; i++)
        {
            var (user, session) = ($"u-{name}{i}", $"s-{name}{i}");
            yield return b.PageView($"{day}T1{i}:00:00Z", user, session, place);
            yield return b.ProductView($"{day}T1{i}:05:00Z", user, session, store, $"p-{i}", place: place);
            yield return b.Order($"{day}T1{i}:10:00Z", $"o-{name}{i}", store, user, session, total: 100 + (i * 7), place: place);
        }
    }
}
