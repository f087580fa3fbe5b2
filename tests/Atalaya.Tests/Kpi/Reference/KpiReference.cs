namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// The expected answer of <c>/api/kpi/query</c>, computed the plain way: for each group that has
/// any event of the catalog in the range inside the filters (one group when there is no group_by), build the slice of events inside
/// the filters and that group, then evaluate every KPI on every period of the range. So every
/// period appears once per group and metric, empty ones as 0 (sums, counts) or null (rates), in
/// the documented order: metric (dictionary order), then group values, then period.
/// </summary>
public static class KpiReference
{
    public static List<KpiRow> Query(ReferenceData data, KpiQuery query)
    {
        var calendar = new LocalCalendar(query.Tz);
        var periods = calendar.Periods(query.StartDate, query.EndDate, query.Aggregate);
        var rangeStart = calendar.StartOfDay(query.StartDate);
        var rangeEnd = calendar.StartOfDay(query.EndDate.AddDays(1));

        var groups = query.GroupBy.Count == 0
            ? [GroupKey.Empty]
            : data.Events
                .Where(e => e.Timestamp >= rangeStart && e.Timestamp < rangeEnd && query.Filters.Matches(e.Dimensions))
                .Select(e => query.KeyOf(e.Dimensions))
                .Distinct()
                .Order()
                .ToList();
        // Only leads have a priority: a lead's payments match its filters and group but for priority.
        var withoutPriority = new DimensionFilters(query.Filters.Values.Where(f => f.Key != "priority").ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal));
        var slices = groups.ToDictionary(
            group => group,
            group => new KpiSlice(data, d => query.Filters.Matches(d) && query.KeyOf(d).Equals(group),
                d => withoutPriority.Matches(d) && query.KeyOf(d with { Priority = group.Values.ElementAtOrDefault(query.GroupBy.ToList().IndexOf("priority")) }).Equals(group)));

        var rows = new List<KpiRow>();
        foreach (var metric in KpiFormulas.Ids.Where(query.Metrics.Contains))
        {
            foreach (var group in groups)
            {
                rows.AddRange(periods.Select(period => new KpiRow(metric, period.Label, group, KpiFormulas.Value(metric, slices[group], period))));
            }
        }
        return rows;
    }
}
