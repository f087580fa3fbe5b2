using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// A parsed, validated KPI question: which KPIs, over which local dates in which time zone, cut
/// into which periods, filtered and grouped by which dimensions. Immutable; the HTTP layer builds
/// it from the query string, the engine plans and runs it. The reader's <see cref="AccessScope"/>
/// is part of the query: there is no way to ask without one.
/// </summary>
public sealed record KpiQuery(
    IReadOnlyList<KpiId> Metrics,
    DateOnly StartDate,
    DateOnly EndDate,
    Aggregate Aggregate,
    TimeZoneInfo TimeZone,
    DimensionFilter Filters,
    IReadOnlyList<Dimension> GroupBy,
    AccessScope Scope,
    int Limit = 1000);

/// <summary>Allowed values per dimension (a comma list in the API means any of them).</summary>
public sealed class DimensionFilter
{
    public static readonly DimensionFilter None = new(new Dictionary<Dimension, IReadOnlyList<string>>());

    public DimensionFilter(IReadOnlyDictionary<Dimension, IReadOnlyList<string>> values) => Values = values;

    public IReadOnlyDictionary<Dimension, IReadOnlyList<string>> Values { get; }

    public bool IsEmpty => Values.Count == 0;
}

/// <summary>A filter asks for data outside the reader's scope (answered 403, naming the value).</summary>
public sealed class ScopeViolationException(string message) : Exception(message);

/// <summary>One answer row: a KPI's value for one period and one group.</summary>
public sealed record KpiRow(string Period, KpiId Metric, double? Value, IReadOnlyList<string?> Group);

/// <summary>The rows of a query (cut at its limit) and how many there were before the cut.</summary>
public sealed record KpiResult(IReadOnlyList<KpiRow> Rows, int Total, DateTimeOffset Start, DateTimeOffset End);
