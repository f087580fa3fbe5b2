namespace Atalaya.Tests.Kpi.Http;

/// <summary>A range to query in one zone: daily, weekly and monthly rows over [Start, End], hourly ones over [HourlyStart, HourlyEnd].</summary>
public sealed record QueryWindow(string Tz, DateOnly Start, DateOnly End, DateOnly HourlyStart, DateOnly HourlyEnd)
{
    public static QueryWindow Of(string tz, string start, string end, string hourly) =>
        new(tz, DateOnly.Parse(start, System.Globalization.CultureInfo.InvariantCulture), DateOnly.Parse(end, System.Globalization.CultureInfo.InvariantCulture),
            DateOnly.Parse(hourly, System.Globalization.CultureInfo.InvariantCulture), DateOnly.Parse(hourly, System.Globalization.CultureInfo.InvariantCulture));
}
