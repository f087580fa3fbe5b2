using System.Globalization;

namespace Atalaya.Bench.Query;

/// <summary>
/// "Now" for one run, fixed once so both sides are asked about the same days. Relative ranges
/// follow docs/metrics-api.md: <c>90d</c> is the 90 days ending today, today included; periods are
/// half-open and UTC.
/// </summary>
public sealed record QueryClock(DateTime Now)
{
    public DateTime Today => Now.Date;

    public DateTime Tomorrow => Today.AddDays(1);

    public DateTime CurrentHour => new(Now.Year, Now.Month, Now.Day, Now.Hour, 0, 0, DateTimeKind.Utc);

    /// <summary>The first day of the <paramref name="days"/> days ending today.</summary>
    public DateTime FirstOf(int days) => Today.AddDays(1 - days);

    /// <summary>A ClickHouse DateTime literal in UTC.</summary>
    public static string Sql(DateTime at) => $"toDateTime('{at.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}', 'UTC')";

    public static string DayKey(DateTime at) => at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string HourKey(DateTime at) => at.ToString("yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture);
}
