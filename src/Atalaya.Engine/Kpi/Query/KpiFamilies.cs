using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Runs a query's KPI families side by side. The evaluator's passes are independent: the session
/// KPIs read the session table (or its hour rollup), the customer KPIs the order history, the rest
/// the events; a dashboard's table that asks for all three (weekly visitors, sessions, bounce and
/// conversion, new and returning customers, LTV by country) waited for their sum. Each family gets
/// its own evaluator over the same projection (the caller holds the read lock for all of them), and
/// the answers are merged into the one a single evaluator gives: every metric × every group any
/// family saw × every period, a group a family did not see taking an empty cell's value.
/// </summary>
internal static class KpiFamilies
{
    private static readonly HashSet<KpiId> Sessions =
    [
        KpiId.Sessions, KpiId.BounceRate, KpiId.AvgSessionDurationS, KpiId.ConversionRate,
        KpiId.AddToCartRate, KpiId.CartAbandonmentRate, KpiId.CheckoutCompletionRate,
    ];

    private static readonly HashSet<KpiId> Customers =
    [
        KpiId.NewCustomers, KpiId.ReturningCustomers, KpiId.Ltv, KpiId.Customers, KpiId.RepeatCustomerRate,
    ];

    /// <summary>The query's metrics by family (events, sessions, customers), the empty families left out.</summary>
    public static List<KpiId[]> Split(IReadOnlyList<KpiId> metrics)
    {
        var distinct = metrics.Distinct().ToList();
        return new[]
        {
            distinct.Where(m => !Sessions.Contains(m) && !Customers.Contains(m)).ToArray(),
            distinct.Where(Sessions.Contains).ToArray(),
            distinct.Where(Customers.Contains).ToArray(),
        }.Where(f => f.Length > 0).ToList();
    }

    /// <summary>Answers <paramref name="query"/> with one evaluator per family, in parallel when there are several.</summary>
    public static KpiResult Run(KpiProjection projection, KpiQuery query, bool useRollup)
    {
        var families = Split(query.Metrics);
        if (families.Count < 2 || !SmallAnswer(query))
        {
            return new KpiEvaluator(projection, query, useRollup: useRollup).Run();
        }
        // Built here, on the caller's thread: a filter outside the reader's scope is refused as it is by one evaluator.
        var evaluators = families.Select(f => new KpiEvaluator(projection, query with { Metrics = f, Limit = int.MaxValue }, useRollup: useRollup)).ToList();
        var parts = new KpiResult[families.Count];
        try
        {
            Parallel.For(0, families.Count, i => parts[i] = evaluators[i].Run());
        }
        catch (AggregateException e)
        {
            // The question's own refusal (too large an answer…), not a wrapper the caller would take for a failure.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
        return Merge(query, parts);
    }

    /// <summary>
    /// Whether the answer is small enough that merging it costs less than the passes side by side
    /// save: dashboard tables (up to about a year of days, ungrouped or by one low-cardinality
    /// dimension). A long hourly series or a per-store table stays with one evaluator, which
    /// builds only the rows up to the limit.
    /// </summary>
    private static bool SmallAnswer(KpiQuery query) =>
        query.GroupBy.Count <= 1 && !query.GroupBy.Contains(Dimension.StoreId)
        && PeriodGrid.Build(query.StartDate, query.EndDate, query.Aggregate, query.TimeZone).Count <= 400;

    private static KpiResult Merge(KpiQuery query, KpiResult[] parts)
    {
        var groups = new Dictionary<string, IReadOnlyList<string?>>(StringComparer.Ordinal);
        var periods = new List<string>();
        var seenPeriods = new HashSet<string>(StringComparer.Ordinal);
        var values = new Dictionary<(KpiId, string, string), double?>();
        foreach (var part in parts)
        {
            foreach (var row in part.Rows)
            {
                var key = GroupKey(row.Group);
                groups.TryAdd(key, row.Group);
                values[(row.Metric, key, row.Period)] = row.Value;
                if (seenPeriods.Add(row.Period))
                {
                    periods.Add(row.Period);
                }
            }
        }
        var ordered = groups.Values.ToList();
        ordered.Sort((a, b) => KpiEvaluator.CompareGroups([.. a], [.. b]));
        var metrics = query.Metrics.Distinct().Order().ToList();
        var total = metrics.Count * ordered.Count * periods.Count;
        var rows = new List<KpiRow>(Math.Min(total, query.Limit));
        var empty = default(Cell);
        foreach (var metric in metrics)
        {
            foreach (var group in ordered)
            {
                var key = GroupKey(group);
                foreach (var period in periods)
                {
                    if (rows.Count >= query.Limit)
                    {
                        break;
                    }
                    rows.Add(new KpiRow(period, metric, values.TryGetValue((metric, key, period), out var value) ? value : empty.Value(metric), group));
                }
            }
        }
        return new KpiResult(rows, total, parts[0].Start, parts[0].End);
    }

    // Group values may be null (no value): kept apart from any text by a marker no value holds.
    private static string GroupKey(IReadOnlyList<string?> group) => string.Join('\u0001', group.Select(v => v ?? "\u0002"));
}
