using System.Text.RegularExpressions;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Quality;

namespace Atalaya.Engine.Reports;

/// <summary>What to build: which report, for which date (the day, the week's last day or a day of the month), for whom, in which language.</summary>
public sealed record ReportRequest(ReportKind Kind, DateOnly Date, ReportScope Scope, string Locale = "en");

/// <summary>A built report: its id (the file name without extension), its file and the headline figures a summary message shows.</summary>
public sealed record ReportFile(string Id, ReportKind Kind, ReportPeriod Period, ReportScope Scope, string Locale, string FileName, string ContentType,
    byte[] Content, IReadOnlyList<Comparison> Headline);

/// <summary>A report that cannot be built as asked (unknown store or country, a date in the future); the message says how to fix it.</summary>
public sealed class ReportException(string message) : Exception(message);

/// <summary>
/// Builds reports from the live KPI engine (docs/reports.md): the daily CSV
/// (<c>daily-YYYY-MM-DD[-scope].csv</c>), the weekly HTML (last 7 and 28 days) and the monthly HTML
/// (top 5 sources and countries). Every figure comes from <see cref="ReportFigures"/>, the API's
/// query path with the scope's access rules; nothing here computes a KPI.
/// </summary>
/// <param name="health">Where the reports' data-quality state comes from; without it (a bare engine) reports say "unchecked".</param>
public sealed partial class ReportBuilder(KpiEngine engine, string currency = "USD", FigureHealthReader? health = null)
{
    public const string CsvType = "text/csv; charset=utf-8";
    public const string HtmlType = "text/html; charset=utf-8";

    public ReportFile Build(ReportRequest request, DateTimeOffset generated)
    {
        Check(request);
        var period = ReportPeriod.For(request.Kind, request.Date);
        var figures = new ReportFigures(engine, request.Scope);
        var locale = ReportLocale.Get(request.Locale, currency);
        var id = Id(request.Kind, period, request.Scope, request.Locale);
        IReadOnlyList<Comparison> headline;
        var whole = Health(request.Scope, null, Enum.GetValues<KpiId>().Select(KpiIds.Name));
        switch (request.Kind)
        {
            case ReportKind.Daily:
                var csv = DailyCsv.Write(figures, period, request.Scope, (country, metric) => ReportQuality.Cell(Health(request.Scope, country, [KpiIds.Name(metric)])), out var all);
                headline = all.Where(c => HtmlReport.CardMetrics.Contains(c.Metric)).ToList();
                return new ReportFile(id, request.Kind, period, request.Scope, request.Locale, id + ".csv", CsvType, csv, headline);
            case ReportKind.Weekly:
                var weekly = HtmlReport.Weekly(figures, period, request.Scope, locale, engine.Dictionary, generated, whole, out headline);
                return new ReportFile(id, request.Kind, period, request.Scope, request.Locale, id + ".html", HtmlType, weekly, headline);
            default:
                var monthly = HtmlReport.Monthly(figures, period, request.Scope, locale, engine.Dictionary, generated, whole, out headline);
                return new ReportFile(id, request.Kind, period, request.Scope, request.Locale, id + ".html", HtmlType, monthly, headline);
        }
    }

    /// <summary>The data-quality state of the scope's figures of <paramref name="metrics"/>, in one country when given.</summary>
    private FigureHealth Health(ReportScope scope, string? country, IEnumerable<string> metrics) =>
        health?.For(metrics, scope.Access, country is null ? DimensionFilter.None
            : new DimensionFilter(new Dictionary<Dimension, IReadOnlyList<string>> { [Dimension.Country] = [country] }))
        ?? new FigureHealth(HealthState.Unchecked, null, null, null, []);

    /// <summary>
    /// One id per (kind, period, scope, language): <c>daily-2026-03-01</c>,
    /// <c>weekly-2026-03-01-country-MX-es-MX</c>, <c>monthly-2026-02-store-mx-003-en</c>. The CSV has
    /// no words, so it has no language. Building the same report again yields the same id, which is
    /// what makes a rerun replace it.
    /// </summary>
    public static string Id(ReportKind kind, ReportPeriod period, ReportScope scope, string locale) =>
        $"{ReportKinds.Name(kind)}-{period.Key}{scope.FileSuffix}" + (kind == ReportKind.Daily ? "" : "-" + locale);

    /// <summary>Refuses what would give a wrong or empty report without saying so.</summary>
    public void Check(ReportRequest request)
    {
        if (!ReportLocale.IsSupported(request.Locale))
        {
            throw new ReportException($"unknown locale '{request.Locale}'; use one of {string.Join(", ", ReportLocale.Names)}");
        }
        var today = engine.Today(TimeZoneInfo.Utc);
        if (request.Date > today)
        {
            throw new ReportException($"the date {ReportFigures.Day(request.Date)} is in the future (today is {ReportFigures.Day(today)} UTC); give today or an earlier day");
        }
        var scope = request.Scope;
        using var read = engine.Projection.Read();
        switch (scope.Kind)
        {
            case ReportScopeKind.Store when engine.Projection.FindValue(Dimension.StoreId, scope.Value) == 0:
                throw new ReportException($"unknown store '{scope.Value}': no event names it; check the id (store_id of its events)");
            case ReportScopeKind.Country when !CountryCode().IsMatch(scope.Value):
                throw new ReportException($"'{scope.Value}' is not a country code; give two capital letters such as MX, CO, CL or SE");
            case ReportScopeKind.Country when engine.Projection.FindValue(Dimension.Country, scope.Value) == 0:
                throw new ReportException($"unknown country '{scope.Value}': no event comes from it");
        }
    }

    [GeneratedRegex("^[A-Z]{2}$")]
    private static partial Regex CountryCode();
}
