using System.CommandLine;
using System.Globalization;
using Atalaya.Engine.Reports;
using Atalaya.Engine.Storage;
using Atalaya.Reports;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya report daily|weekly|monthly</c>: builds one report from the data folder's events
/// with the same code as the scheduled jobs. Without <c>--out</c> it is kept in the data folder
/// (replacing the same period's, listed by <c>GET /api/reports</c>); with it, it is only written there.
/// With <c>--clickhouse</c> and <c>--postgres</c> it is built from a cluster's events, loaded once
/// from ClickHouse, and kept in the cluster's PostgreSQL, where every node lists it.
/// </summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var kind = new Argument<string>("KIND") { Description = "daily (CSV), weekly (HTML, last 7 and 28 days) or monthly (HTML, top 5 sources and countries)." };
        var date = new Option<string?>("--date")
        {
            Description = "The day reported (daily), the last day of the 7 and 28 (weekly) or any day of the month (monthly), YYYY-MM-DD in UTC. "
                + "Default: yesterday for daily and weekly, last month for monthly.",
            HelpName = "DATE",
        };
        var store = new Option<string?>("--store") { Description = "A vendor's report: only this store's figures.", HelpName = "ID" };
        var country = new Option<string?>("--country") { Description = "A country's report: only this country's figures (two letters, e.g. MX).", HelpName = "CC" };
        var output = new Option<string?>("--out") { Description = "Write the file into this folder instead of keeping it in the data folder's reports/.", HelpName = "DIR" };
        var locale = new Option<string>("--locale")
        {
            Description = $"Language and number, money and date formats of the HTML reports: {string.Join(", ", ReportLocale.Names)}.",
            DefaultValueFactory = _ => "en",
            HelpName = "LOCALE",
        };
        var currency = new Option<string>("--reporting-currency") { Description = "The ISO 4217 currency the hub reports money in (as given to serve).", DefaultValueFactory = _ => "USD", HelpName = "CODE" };
        var pdf = new Option<bool>("--pdf") { Description = "Also print the HTML report to a PDF on A4 beside it (needs Debian's chromium)." };
        var data = CommonOptions.Data();
        var cluster = new ClusterOptions(
            "Build the report for a cluster (with --clickhouse) and keep it in the cluster's PostgreSQL, where every node's GET /api/reports lists it (unless --out)",
            "the report is built from the cluster's events there (loaded once, as a node does at start)");
        var command = new Command("report", "Write a report: daily CSV, weekly or monthly HTML, for the platform, a store or a country.")
        {
            kind, date, store, country, output, locale, currency, pdf, data, cluster.Postgres, cluster.ClickHouse,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (cluster.Refuse(parse, "a report", "POST /api/jobs/report_daily/run (or report_weekly, report_monthly) with an admin token", "reports and quality findings") is { } refused)
            {
                return refused;
            }
            if (!ReportKinds.TryParse(parse.GetValue(kind), out var reportKind))
            {
                return CommonOptions.Fail($"'{parse.GetValue(kind)}' is not a report; give daily, weekly or monthly");
            }
            var language = parse.GetValue(locale)!;
            if (!ReportLocale.IsSupported(language))
            {
                return CommonOptions.Fail($"--locale: '{language}' is not one of {string.Join(", ", ReportLocale.Names)}");
            }
            var code = parse.GetValue(currency)!;
            if (code.Length != 3 || !code.All(char.IsAsciiLetterUpper))
            {
                return CommonOptions.Fail("--reporting-currency must be an ISO 4217 code like USD.");
            }
            if (parse.GetValue(store) is not null && parse.GetValue(country) is not null)
            {
                return CommonOptions.Fail("give --store (a vendor's report) or --country (a country's report), not both");
            }
            var scope = parse.GetValue(store) is { } s ? ReportScope.Store(s)
                : parse.GetValue(country) is { } c ? ReportScope.Country(c.ToUpperInvariant())
                : ReportScope.All;
            DateOnly? day = null;
            if (parse.GetValue(date) is { } text)
            {
                if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                {
                    return CommonOptions.Fail($"--date: '{text}' is not a date; use YYYY-MM-DD");
                }
                day = d;
            }
            if (parse.GetValue(pdf) && reportKind == ReportKind.Daily)
            {
                return CommonOptions.Fail("--pdf: the daily report is a CSV; PDFs are made of the weekly and monthly HTML reports");
            }
            if (parse.GetValue(pdf) && parse.GetValue(cluster.Postgres) is not null && parse.GetValue(output) is null)
            {
                return CommonOptions.Fail("--pdf: a cluster's report is kept in PostgreSQL, not in a folder; give --out DIR to write the HTML and its PDF there");
            }
            if (parse.GetValue(pdf) && ChromiumPdf.Find() is null)
            {
                return CommonOptions.Fail("--pdf: chromium is not installed; install Debian's package (apt-get install chromium) or leave out --pdf");
            }
            var folder = parse.GetValue(data)!;
            var wanted = new Wanted(reportKind, day, scope, language, code, parse.GetValue(output), parse.GetValue(pdf));
            if (parse.GetValue(cluster.Postgres) is { } connectionString)
            {
                // The folder is the command's own (nothing of the cluster is in it); the events, findings and reports are the cluster's.
                var own = HubDatabase.Open(folder);
                return await CommonOptions.OnClusterAsync(connectionString, parse.GetValue(cluster.ClickHouse)!, (state, events) => Write(wanted, events.Engine, own, state), ct);
            }
            if (!File.Exists(Path.Combine(folder, HubDatabase.FileName)))
            {
                return CommonOptions.Fail($"no hub data in '{Path.GetFullPath(folder)}'; give --data DIR (or ATALAYA_DATA) with the folder `atalaya serve` uses");
            }
            var database = HubDatabase.Open(folder);
            return Write(wanted, JobsCommand.LoadEngine(database, useSnapshot: true), database, null);
        });
        return command;
    }

    /// <summary>What the command line asked for.</summary>
    private sealed record Wanted(ReportKind Kind, DateOnly? Day, ReportScope Scope, string Locale, string Currency, string? Output, bool Pdf);

    /// <summary>
    /// Builds the report from <paramref name="engine"/> with the figures' health of the latest
    /// quality run (the cluster's with <paramref name="shared"/>), and writes it to --out or keeps it
    /// where the hub's reports are: the data folder, or the cluster's PostgreSQL.
    /// </summary>
    private static int Write(Wanted wanted, Engine.Kpi.KpiEngine engine, HubDatabase database, Engine.Postgres.PostgresState? shared)
    {
        var now = engine.Time.GetUtcNow();
        var request = new ReportRequest(wanted.Kind, wanted.Day ?? ReportPeriod.DefaultDate(wanted.Kind, DateOnly.FromDateTime(now.UtcDateTime)), wanted.Scope, wanted.Locale);
        ReportFile report;
        try
        {
            var health = new Engine.Quality.FigureHealthReader(database, engine.Dictionary, Engine.Catalog.EventCatalog.Default, engine,
                Engine.Quality.QualityRows.For(database, shared));
            report = new ReportBuilder(engine, wanted.Currency, health).Build(request, now);
        }
        catch (ReportException e)
        {
            return CommonOptions.Fail(e.Message);
        }
        string? path = null;
        if (wanted.Output is { } directory)
        {
            Directory.CreateDirectory(directory);
            path = Path.GetFullPath(Path.Combine(directory, report.FileName));
            File.WriteAllBytes(path, report.Content);
        }
        else
        {
            ReportStore.For(database, shared).Save(report, now, runId: null);
            path = shared is null ? ReportStore.FileIn(database, report.FileName) : null;
        }
        Console.WriteLine($"{ReportKinds.Name(wanted.Kind)} report {report.Id}: {report.Period.Start:yyyy-MM-dd} to {report.Period.End:yyyy-MM-dd}, "
            + $"{wanted.Scope.Label}, {report.Content.Length:N0} bytes");
        if (path is null)
        {
            Console.WriteLine($"Kept in the cluster's PostgreSQL: GET /api/reports/{report.Id} on any node serves it.");
            return 0;
        }
        if (wanted.Pdf)
        {
            var pdfPath = Path.ChangeExtension(path, ".pdf");
            if (ChromiumPdf.Print(path, pdfPath) is { } problem)
            {
                Console.WriteLine(path);
                return CommonOptions.Fail("--pdf: " + problem);
            }
            Console.WriteLine(pdfPath);
        }
        Console.WriteLine(path);
        return 0;
    }
}
