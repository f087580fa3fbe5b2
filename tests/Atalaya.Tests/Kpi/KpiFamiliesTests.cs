using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// A query whose KPIs span the event, session and customer families is answered by one evaluator
/// per family side by side; the merged answer must be the one a single evaluator gives, row for
/// row (groups, periods, values, order, the total and the limit's cut).
/// </summary>
public sealed class KpiFamiliesTests
{
    private static readonly KpiId[] Weekly =
        [KpiId.Visitors, KpiId.Sessions, KpiId.BounceRate, KpiId.ConversionRate, KpiId.NewCustomers, KpiId.ReturningCustomers, KpiId.Ltv];

    [Fact]
    public async Task Families_side_by_side_answer_exactly_as_one_evaluator()
    {
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 20, Seed: 8, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 40));
        var projection = hub.Server.Hub.Kpis.Projection;
        var stockholm = TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm");
        var cases = new List<KpiQuery>();
        foreach (var aggregate in new[] { Aggregate.Daily, Aggregate.Weekly, Aggregate.Monthly, Aggregate.Total })
        {
            foreach (var groupBy in new Dimension[][] { [], [Dimension.Country], [Dimension.Platform] })
            {
                foreach (var tz in new[] { TimeZoneInfo.Utc, stockholm })
                {
                    cases.Add(new KpiQuery(Weekly, new DateOnly(2026, 2, 10), new DateOnly(2026, 3, 3), aggregate, tz, DimensionFilter.None, groupBy, AccessScope.Everything, 100_000));
                }
            }
        }
        // Every KPI at once, a country's scope, and a limit that cuts the rows.
        var all = Enum.GetValues<KpiId>();
        cases.Add(new KpiQuery(all, new DateOnly(2026, 2, 20), new DateOnly(2026, 3, 3), Aggregate.Daily, TimeZoneInfo.Utc, DimensionFilter.None, [Dimension.Country], AccessScope.Everything, 100_000));
        cases.Add(new KpiQuery(Weekly, new DateOnly(2026, 2, 10), new DateOnly(2026, 3, 3), Aggregate.Weekly, TimeZoneInfo.Utc, DimensionFilter.None, [Dimension.Country], new AccessScope(["MX"], [], [], []), 100_000));
        cases.Add(new KpiQuery(Weekly, new DateOnly(2026, 2, 10), new DateOnly(2026, 3, 3), Aggregate.Daily, TimeZoneInfo.Utc, DimensionFilter.None, [Dimension.Country], AccessScope.Everything, 37));
        // A range with no data at all.
        cases.Add(new KpiQuery(Weekly, new DateOnly(2025, 1, 1), new DateOnly(2025, 1, 31), Aggregate.Weekly, TimeZoneInfo.Utc, DimensionFilter.None, [Dimension.Country], AccessScope.Everything, 100_000));

        Assert.True(KpiFamilies.Split(Weekly).Count == 3, "the weekly table spans the three families");
        using (projection.Read())
        {
            foreach (var query in cases)
            {
                var single = new KpiEvaluator(projection, query).Run();
                var families = KpiFamilies.Run(projection, query, useRollup: true);
                var what = $"{query.Aggregate} by [{string.Join(',', query.GroupBy)}] in {query.TimeZone.Id}, limit {query.Limit}";
                Assert.True(single.Total == families.Total, $"{what}: total {families.Total}, one evaluator {single.Total}");
                Assert.True(single.Rows.Count == families.Rows.Count, $"{what}: {families.Rows.Count} rows, one evaluator {single.Rows.Count}");
                for (var i = 0; i < single.Rows.Count; i++)
                {
                    var (a, b) = (single.Rows[i], families.Rows[i]);
                    Assert.True(a.Period == b.Period && a.Metric == b.Metric && a.Value == b.Value && a.Group.SequenceEqual(b.Group),
                        $"{what}, row {i}: {b.Period} {b.Metric} {b.Value} [{string.Join(',', b.Group)}], one evaluator {a.Period} {a.Metric} {a.Value} [{string.Join(',', a.Group)}]");
                }
            }
        }
    }

    [Fact]
    public async Task A_refused_question_is_refused_the_same_way_not_wrapped()
    {
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 2, Seed: 8, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 10));
        var projection = hub.Server.Hub.Kpis.Projection;
        var outside = new KpiQuery(Weekly, new DateOnly(2026, 2, 10), new DateOnly(2026, 3, 3), Aggregate.Weekly, TimeZoneInfo.Utc,
            new DimensionFilter(new Dictionary<Dimension, IReadOnlyList<string>> { [Dimension.Country] = ["CO"] }), [Dimension.Country], new AccessScope(["MX"], [], [], []), 1000);
        using (projection.Read())
        {
            Assert.Throws<ScopeViolationException>(() => new KpiEvaluator(projection, outside).Run());
            Assert.Throws<ScopeViolationException>(() => KpiFamilies.Run(projection, outside, useRollup: true));
        }
    }
}
