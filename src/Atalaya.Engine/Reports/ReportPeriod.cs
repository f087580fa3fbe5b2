using System.Globalization;

namespace Atalaya.Engine.Reports;

/// <summary>
/// The dates a report covers (UTC days, inclusive) and the period it is compared with. Daily: one
/// day against the day before. Weekly: the 7 days ending on its date against the 7 before, and the
/// 28 days ending on its date against the 28 before. Monthly: the calendar month holding its date
/// against the month before. The key (a day, or YYYY-MM) names the period in file names.
/// </summary>
public sealed record ReportPeriod(ReportKind Kind, DateOnly Start, DateOnly End, DateOnly PreviousStart, DateOnly PreviousEnd)
{
    /// <summary>The weekly report's long range: 28 days ending on <see cref="End"/>.</summary>
    public DateOnly LongStart => End.AddDays(-27);

    public string Key => Kind == ReportKind.Monthly
        ? Start.ToString("yyyy-MM", CultureInfo.InvariantCulture)
        : End.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static ReportPeriod For(ReportKind kind, DateOnly date) => kind switch
    {
        ReportKind.Daily => new(kind, date, date, date.AddDays(-1), date.AddDays(-1)),
        ReportKind.Weekly => new(kind, date.AddDays(-6), date, date.AddDays(-13), date.AddDays(-7)),
        _ => Month(date),
    };

    private static ReportPeriod Month(DateOnly date)
    {
        var start = new DateOnly(date.Year, date.Month, 1);
        var end = start.AddMonths(1).AddDays(-1);
        var previousStart = start.AddMonths(-1);
        return new(ReportKind.Monthly, start, end, previousStart, start.AddDays(-1));
    }

    /// <summary>
    /// The period a scheduled run produces on <paramref name="today"/> (UTC): yesterday, the 7 days
    /// ending yesterday, or the last whole month. The same for every run on one day, so a rerun
    /// replaces the report rather than adding one.
    /// </summary>
    public static DateOnly DefaultDate(ReportKind kind, DateOnly today) =>
        kind == ReportKind.Monthly ? new DateOnly(today.Year, today.Month, 1).AddDays(-1) : today.AddDays(-1);
}
