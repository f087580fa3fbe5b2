using System.Globalization;

namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// <c>/api/analysis/retention</c>: the cohort is the period (local month, or ISO week labelled by its
/// Monday) of a user's first order within the range and filters; a cell counts the distinct users of
/// the cohort with an order that many periods later. Orders without a user are in no cohort. Only
/// cells with users are listed. <c>orders=delivered</c> keeps the orders whose latest final status
/// now is ENTREGADO (the seed's <c>status = 'ENTREGADO'</c>).
/// </summary>
public static class RetentionReference
{
    public static List<RetentionRow> Compute(ReferenceData data, string period, DateTimeOffset? start, DateTimeOffset? end,
        DimensionFilters filters, string tz, string which = "placed")
    {
        var calendar = new LocalCalendar(tz);
        var ordersByUser = data.Orders
            .Where(o => which == "placed" || data.LatestStatus.GetValueOrDefault(o.Text("order_id")!) == "ENTREGADO")
            .Where(o => o.User is not null && (start is null || o.Timestamp >= start) && (end is null || o.Timestamp < end) && filters.Matches(o.Dimensions))
            .GroupBy(o => o.User!, StringComparer.Ordinal);
        var cells = new List<(string Cohort, int Since, string User)>();
        foreach (var orders in ordersByUser)
        {
            var indexes = orders.Select(o => PeriodIndex(calendar.LocalDate(o.Timestamp), period)).Distinct().ToList();
            var first = indexes.Min();
            var cohort = Label(calendar.LocalDate(orders.Min(o => o.Timestamp)), period);
            cells.AddRange(indexes.Select(index => (cohort, index - first, orders.Key)));
        }
        return [.. cells
            .GroupBy(c => (c.Cohort, c.Since))
            .Select(g => new RetentionRow(g.Key.Cohort, g.Key.Since, g.Select(c => c.User).Distinct(StringComparer.Ordinal).Count()))
            .OrderBy(r => r.Cohort, StringComparer.Ordinal).ThenBy(r => r.PeriodsSinceFirst)];
    }

    private static int PeriodIndex(DateOnly date, string period) => period switch
    {
        "month" => (date.Year * 12) + date.Month - 1,
        "week" => LocalCalendar.Monday(date).DayNumber / 7,
        _ => throw new ArgumentException($"Unknown period {period}.", nameof(period)),
    };

    private static string Label(DateOnly date, string period) => period switch
    {
        "month" => date.ToString("yyyy-MM", CultureInfo.InvariantCulture),
        _ => LocalCalendar.Monday(date).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
    };
}
