using System.Globalization;
using System.Text;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Reports;

/// <summary>
/// The daily CSV: <c>date,scope,country,kpi,value,previous_value,change_pct,data_quality</c>, one row per KPI
/// for the whole scope (country <c>ALL</c>) and then per country, the day against the day before.
/// Values are written as the API writes them (shortest round-trip, invariant culture), a missing
/// value as an empty field; change_pct is rounded to 2 decimals; data_quality is the state of the
/// data the row's figure was computed from (<see cref="ReportQuality.Cell"/>). Text fields cannot start a
/// spreadsheet formula. UTF-8 without a byte-order mark,
/// CRLF line ends (RFC 4180).
/// </summary>
internal static class DailyCsv
{
    public const string Header = "date,scope,country,kpi,value,previous_value,change_pct,data_quality";
    public const string AllCountries = "ALL";

    /// <param name="quality">The data_quality cell of a row: its country (null for the whole scope) and KPI.</param>
    public static byte[] Write(ReportFigures figures, ReportPeriod period, ReportScope scope, Func<string?, KpiId, string> quality, out IReadOnlyList<Comparison> platform)
    {
        var metrics = Enum.GetValues<KpiId>();
        var day = ReportFigures.Day(period.End);
        var previousDay = ReportFigures.Day(period.PreviousEnd);
        var all = figures.Query(metrics, period.PreviousStart, period.End, Aggregate.Daily).Rows;
        var byCountry = figures.Query(metrics, period.PreviousStart, period.End, Aggregate.Daily, Dimension.Country).Rows;

        var text = new StringBuilder(Header).Append("\r\n");
        var whole = metrics.Select(m => new Comparison(m, Find(all, m, day, null, grouped: false), Find(all, m, previousDay, null, grouped: false))).ToList();
        platform = whole;
        foreach (var c in whole)
        {
            Row(text, day, scope, AllCountries, c, quality(null, c.Metric));
        }
        var countries = byCountry.Select(r => r.Group[0]).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var country in countries)
        {
            foreach (var m in metrics)
            {
                Row(text, day, scope, country ?? "", new Comparison(m, Find(byCountry, m, day, country, grouped: true), Find(byCountry, m, previousDay, country, grouped: true)),
                    quality(country, m));
            }
        }
        return new UTF8Encoding(false).GetBytes(text.ToString());
    }

    private static double? Find(IReadOnlyList<KpiRow> rows, KpiId metric, string period, string? group, bool grouped)
    {
        foreach (var r in rows)
        {
            if (r.Metric == metric && string.Equals(r.Period, period, StringComparison.Ordinal) && (!grouped || string.Equals(r.Group[0], group, StringComparison.Ordinal)))
            {
                return r.Value;
            }
        }
        return null;
    }

    private static void Row(StringBuilder text, string day, ReportScope scope, string country, Comparison c, string quality)
    {
        text.Append(day).Append(',').Append(Field(scope.Label)).Append(',').Append(Field(country)).Append(',')
            .Append(KpiIds.Name(c.Metric)).Append(',').Append(Number(c.Value)).Append(',').Append(Number(c.Previous)).Append(',')
            .Append(Number(c.ChangePct)).Append(',').Append(Field(quality)).Append("\r\n");
    }

    public static string Number(double? value) =>
        value is { } v && double.IsFinite(v) ? Kpi.KpiValues.Clean(v).ToString("R", CultureInfo.InvariantCulture) : "";

    /// <summary>
    /// A text field (scope, country): a leading <c>= + - @</c>, tab or carriage return gets a
    /// quote mark before it, so a spreadsheet shows it as text instead of running it as a formula
    /// (the collector only accepts country codes today; this keeps the file safe if a dimension
    /// ever carries free text); then RFC 4180 quoting where it holds a comma, a quote or a line break.
    /// </summary>
    public static string Field(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }
        return value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
