namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// The expected answers of <c>/api/kpi/summary</c> and <c>/api/kpi/timeseries</c>, which are the same
/// KPIs over day and hour periods placed relative to "now" (the current date and hour in tz).
/// </summary>
public static class KpiLiveReference
{
    /// <summary>
    /// "Today so far against yesterday and the average of the seven whole days before today";
    /// avg_7d leaves out days whose value is null; a change is null when its base is 0 or null.
    /// </summary>
    public static List<SummaryRow> Summary(ReferenceData data, DateTimeOffset now, string tz, DimensionFilters filters, IReadOnlyList<string>? metrics = null)
    {
        var calendar = new LocalCalendar(tz);
        var today = calendar.LocalDate(now);
        var slice = new KpiSlice(data, filters.Matches);
        return [.. KpiFormulas.Ids.Where(id => metrics is null || metrics.Contains(id)).Select(metric =>
        {
            var todayValue = KpiFormulas.Value(metric, slice, calendar.Day(today));
            var yesterdayValue = KpiFormulas.Value(metric, slice, calendar.Day(today.AddDays(-1)));
            var week = Enumerable.Range(1, 7)
                .Select(back => KpiFormulas.Value(metric, slice, calendar.Day(today.AddDays(-back))))
                .OfType<double>()
                .ToList();
            double? average = week.Count == 0 ? null : week.Average();
            return new SummaryRow(metric, todayValue, yesterdayValue, average, Change(todayValue, yesterdayValue), Change(todayValue, average));
        })];
    }

    /// <summary>The hourly series of the last <paramref name="hours"/> hours, the current (partial) hour last.</summary>
    public static List<(string Period, double? Value)> Timeseries(ReferenceData data, string metric, int hours, DateTimeOffset now, string tz, DimensionFilters filters)
    {
        var calendar = new LocalCalendar(tz);
        var slice = new KpiSlice(data, filters.Matches);
        var currentHour = CurrentHourStart(calendar, now);
        return [.. Enumerable.Range(0, hours)
            .Select(i => calendar.Hour(currentHour.AddHours(i - hours + 1)))
            .Select(hour => (hour.Label, KpiFormulas.Value(metric, slice, hour)))];
    }

    /// <summary>The start of the local hour holding <paramref name="now"/>.</summary>
    public static DateTimeOffset CurrentHourStart(LocalCalendar calendar, DateTimeOffset now)
    {
        var local = calendar.ToLocal(now);
        return now - TimeSpan.FromTicks(local.Ticks % TimeSpan.TicksPerHour);
    }

    private static double? Change(double? value, double? baseValue) =>
        value is { } v && baseValue is { } b && b != 0 ? 100.0 * (v - b) / b : null;
}
