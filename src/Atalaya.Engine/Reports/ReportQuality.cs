using Atalaya.Engine.Quality;

namespace Atalaya.Engine.Reports;

/// <summary>
/// How a report says the data-quality state of its figures (docs/reports.md): a line under the HTML
/// report's header in its language, and the <c>data_quality</c> column of each daily CSV row
/// (<c>fresh</c>, <c>stale since 2026-03-01T10:40:00.000Z</c>, <c>failing: volume country:MX; …</c>).
/// </summary>
internal static class ReportQuality
{
    private sealed record Words(string Title, string Fresh, string StaleSince, string Failing, string Unchecked, string Checked);

    private static readonly Dictionary<string, Words> ByLanguage = new(StringComparer.Ordinal)
    {
        ["es"] = new("Calidad de datos", "al día", "desactualizados desde", "con fallos", "sin verificar (aún no corrió la verificación de calidad)", "verificada"),
        ["sv"] = new("Datakvalitet", "aktuella", "inaktuella sedan", "fel i kontrollerna", "ej kontrollerad (kvalitetskontrollen har inte körts)", "kontrollerad"),
        ["en"] = new("Data quality", "fresh", "stale since", "failing", "unchecked (the quality check has not run yet)", "checked"),
    };

    public static string Cell(FigureHealth health) => health.State switch
    {
        HealthState.Stale => "stale since " + Jobs.PipelineRuns.Iso(health.StaleSince!.Value),
        HealthState.Failing => "failing: " + string.Join("; ", Failing(health).Select(f => $"{f.Check} {f.Subject}")),
        _ => FigureHealth.Name(health.State),
    };

    public static string Line(FigureHealth health, ReportLocale locale)
    {
        var w = ByLanguage.GetValueOrDefault(locale.Language) ?? ByLanguage["en"];
        string Time(DateTimeOffset t) => t.UtcDateTime.ToString("g", locale.Culture) + " UTC";
        var state = health.State switch
        {
            HealthState.Fresh => w.Fresh,
            HealthState.Stale => $"{w.StaleSince} {Time(health.StaleSince!.Value)}",
            HealthState.Failing => $"{w.Failing}: " + string.Join("; ", Failing(health).Select(f => f.Country is null ? f.Check : $"{f.Check} {f.Country}")),
            _ => w.Unchecked,
        };
        return health.CheckedAt is { } at ? $"{w.Title}: {state} ({w.Checked} {Time(at)})" : $"{w.Title}: {state}";
    }

    private static IEnumerable<HealthFinding> Failing(FigureHealth health) =>
        health.Findings.Where(f => f.Status == QualityStatus.Fail && f.Check != "freshness").DistinctBy(f => (f.Check, f.Subject));
}
