using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi.Http;

/// <summary>A loaded hub with the query windows, filters and group_by lists the conformance matrix runs on it.</summary>
public sealed record KpiDataset(string Name, KpiHub Hub, IReadOnlyList<QueryWindow> Windows, IReadOnlyList<DimensionFilters> Filters,
    IReadOnlyList<string[]> GroupBys)
{
    /// <summary>None, each single dimension, and one pair.</summary>
    public static readonly IReadOnlyList<string[]> AllGroupBys = [[], .. Dimensions.Names.Select(name => new[] { name }), ["country", "platform"]];

    public IEnumerable<KpiQuery> Queries(string aggregate, string tz) =>
        from window in Windows.Where(w => w.Tz == tz)
        from groupBy in GroupBys
        from filters in Filters
        select new KpiQuery(
            aggregate == "hourly" ? window.HourlyStart : window.Start,
            aggregate == "hourly" ? window.HourlyEnd : window.End,
            aggregate, tz)
        { GroupBy = groupBy, Filters = filters };
}
