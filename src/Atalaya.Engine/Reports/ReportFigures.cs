using System.Globalization;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Reports;

/// <summary>One KPI's value over a range beside the previous range's, and the change between them in percent.</summary>
public sealed record Comparison(KpiId Metric, double? Value, double? Previous)
{
    /// <summary>100 × (value − previous) / previous, rounded to 2 decimals; none when either is missing or previous is 0.</summary>
    public double? ChangePct => ChangeOf(Value, Previous);

    /// <summary>
    /// The change between the two figures as a report and the API print them (<see cref="KpiValues.Clean"/>),
    /// so that a reader recomputing it from the printed value and previous value gets the printed
    /// change: from the raw doubles, a change of exactly −8.125 % computed as −8.12499999999999
    /// printed −8.12 beside figures that give −8.13.
    /// </summary>
    public static double? ChangeOf(double? value, double? previous) =>
        value is { } v && previous is { } p && p != 0 && double.IsFinite(v) && double.IsFinite(p)
            ? Math.Round(100.0 * (KpiValues.Clean(v) - KpiValues.Clean(p)) / KpiValues.Clean(p), 2, MidpointRounding.AwayFromZero)
            : null;
}

/// <summary>One group's figures over one range (a country, a traffic source).</summary>
internal sealed record GroupFigures(string? Group, IReadOnlyDictionary<KpiId, double?> Values);

/// <summary>
/// Every figure of a report, asked of the KPI engine as <c>GET /api/kpi/query</c> asks it: one
/// <see cref="KpiQuery"/> with the report scope's <see cref="Access.AccessScope"/>, UTC days, no
/// other filter. A figure in a report therefore equals the API's answer for a token of that scope
/// over the same dates, aggregate and group_by (the tests compare them one by one).
/// </summary>
internal sealed class ReportFigures(KpiEngine engine, ReportScope scope)
{
    public KpiResult Query(IReadOnlyList<KpiId> metrics, DateOnly start, DateOnly end, Aggregate aggregate, params Dimension[] groupBy) =>
        engine.Query(new KpiQuery(metrics, start, end, aggregate, TimeZoneInfo.Utc, DimensionFilter.None, groupBy, scope.Access, int.MaxValue));

    /// <summary>Each metric over the whole range (aggregate=total).</summary>
    public Dictionary<KpiId, double?> Totals(IReadOnlyList<KpiId> metrics, DateOnly start, DateOnly end) =>
        Query(metrics, start, end, Aggregate.Total).Rows.ToDictionary(r => r.Metric, r => r.Value);

    public IReadOnlyList<Comparison> Compare(IReadOnlyList<KpiId> metrics, DateOnly start, DateOnly end, DateOnly previousStart, DateOnly previousEnd)
    {
        var now = Totals(metrics, start, end);
        var before = Totals(metrics, previousStart, previousEnd);
        return metrics.Select(m => new Comparison(m, now.GetValueOrDefault(m), before.GetValueOrDefault(m))).ToList();
    }

    /// <summary>One metric per day of the range, every day present (null where the engine has no value).</summary>
    public IReadOnlyList<(DateOnly Day, double? Value)> Daily(KpiId metric, DateOnly start, DateOnly end)
    {
        var byDay = Query([metric], start, end, Aggregate.Daily).Rows.ToDictionary(r => r.Period, r => r.Value, StringComparer.Ordinal);
        var days = new List<(DateOnly, double?)>();
        for (var d = start; d <= end; d = d.AddDays(1))
        {
            days.Add((d, byDay.GetValueOrDefault(Day(d))));
        }
        return days;
    }

    /// <summary>Each group of <paramref name="dimension"/> over the range, ordered by <paramref name="rankBy"/> (largest first), then by name.</summary>
    public IReadOnlyList<GroupFigures> Groups(IReadOnlyList<KpiId> metrics, Dimension dimension, DateOnly start, DateOnly end, KpiId rankBy, int? top = null)
    {
        var groups = Query(metrics, start, end, Aggregate.Total, dimension).Rows
            .GroupBy(r => r.Group[0])
            .Select(g => new GroupFigures(g.Key, g.ToDictionary(r => r.Metric, r => r.Value)))
            .OrderByDescending(g => g.Values.GetValueOrDefault(rankBy) ?? double.NegativeInfinity)
            .ThenBy(g => g.Group, StringComparer.Ordinal)
            .ToList();
        return top is { } n ? groups.Take(n).ToList() : groups;
    }

    public static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
