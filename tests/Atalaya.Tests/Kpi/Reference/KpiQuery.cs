using System.Globalization;

namespace Atalaya.Tests.Kpi.Reference;

/// <summary>One <c>/api/kpi/query</c> call: the range [StartDate 00:00, EndDate + 1 day 00:00) local to Tz.</summary>
public sealed record KpiQuery(DateOnly StartDate, DateOnly EndDate, string Aggregate = "daily", string Tz = "UTC")
{
    public IReadOnlyList<string> Metrics { get; init; } = KpiFormulas.Ids;

    public IReadOnlyList<string> GroupBy { get; init; } = [];

    public DimensionFilters Filters { get; init; } = DimensionFilters.None;

    public GroupKey KeyOf(Dimensions dimensions) => new([.. GroupBy.Select(dimensions.Get)]);

    /// <summary>The query string, with every KPI asked by default and a limit above any answer the tests expect.</summary>
    public string ToQueryString()
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"start_date={StartDate:yyyy-MM-dd}&end_date={EndDate:yyyy-MM-dd}&aggregate={Aggregate}&tz={Uri.EscapeDataString(Tz)}&limit=100000");
        if (!ReferenceEquals(Metrics, KpiFormulas.Ids))
        {
            text += "&metric=" + string.Join(',', Metrics);
        }
        if (GroupBy.Count > 0)
        {
            text += "&group_by=" + string.Join(',', GroupBy);
        }
        return text + Filters.ToQueryString();
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{StartDate:yyyy-MM-dd}..{EndDate:yyyy-MM-dd} {Aggregate} tz={Tz} group_by=[{string.Join(',', GroupBy)}] {Filters}");
}
