using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// Events that arrive after their day was already queried change that day's answer: the day is
/// queried, late events are posted (an order, a new group, the second event of a bounced session,
/// a duplicate), and the same query must then equal the reference over the new stored events.
/// </summary>
public sealed class LateEventTests
{
    [Fact]
    public async Task A_day_queried_before_its_late_events_arrive_is_answered_anew_after()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("late");
        await hub.PostAsync([
            b.StoreCreated("2026-03-01T00:00:00Z", "st-1", "MX", "cdmx-norte"),
            b.PageView("2026-03-02T10:00:00Z", "u1", "s1"),
            b.Order("2026-03-02T11:00:00Z", "o1", "st-1", "u1", "s2"),
            b.PageView("2026-03-03T09:00:00Z", "u2", "s3"),
        ]);
        var queries = new[]
        {
            new KpiQuery(new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 3)),
            new KpiQuery(new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 3)) { GroupBy = ["country"] },
            new KpiQuery(new DateOnly(2026, 3, 2), new DateOnly(2026, 3, 2), "hourly", KpiDatasets.Stockholm),
        };
        var before = new List<List<KpiRow>>();
        foreach (var query in queries)
        {
            before.Add(KpiReference.Query(hub.Reference, query));
            KpiComparison.AssertSame(before[^1], await hub.Api.QueryAsync(query), query, "before the late events");
        }

        var first = b.Order("2026-03-02T12:00:00Z", "o2", "st-1", "u3", "s4", total: 70, items: [("p-1", 1, 60m)]);
        await hub.PostAsync([
            first,
            b.PageView("2026-03-02T10:05:00Z", "u1", "s1"),
            b.PageView("2026-03-02T13:00:00Z", "u4", "s5", Place.Colombia),
            b.Order("2026-03-02T12:30:00Z", "o1", "st-1", "u1", "s2", total: 500),
        ]);
        await hub.PostAsync([b.Resend(first, e => e["properties"]!["total"] = 1)]);

        for (var i = 0; i < queries.Length; i++)
        {
            var after = KpiReference.Query(hub.Reference, queries[i]);
            Assert.NotEqual(before[i].Select(r => r.ToString()), after.Select(r => r.ToString()));
            KpiComparison.AssertSame(after, await hub.Api.QueryAsync(queries[i]), queries[i], "after the late events");
        }
    }
}
