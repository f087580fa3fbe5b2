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
        var postgres = JobsCommand.Refused("on a cluster a node's report job builds reports from the cluster's events: POST /api/jobs/report_daily/run (or report_weekly, report_monthly) on any node");
        var command = new Command("report", "Write a report: daily CSV, weekly or monthly HTML, for the platform, a store or a country.")
        {
            kind, date, store, country, output, locale, currency, pdf, data, postgres,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(postgres) is not null)
            {
                return CommonOptions.Fail(
                    "--postgres: on a cluster a report is built by a node, which has the cluster's events (this command has only the --data folder's): "
                    + "run POST /api/jobs/report_daily/run (or report_weekly, report_monthly) with an admin token on any node; every node's GET /api/reports then lists it (docs/reports.md).");
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
            if (parse.GetValue(pdf) && ChromiumPdf.Find() is null)
            {
                return CommonOptions.Fail("--pdf: chromium is not installed; install Debian's package (apt-get install chromium) or leave out --pdf");
            }
            var folder = parse.GetValue(data)!;
            if (!File.Exists(Path.Combine(folder, HubDatabase.FileName)))
            {
                return CommonOptions.Fail($"no hub data in '{Path.GetFullPath(folder)}'; give --data DIR (or ATALAYA_DATA) with the folder `atalaya serve` uses");
            }
            var database = HubDatabase.Open(folder);
            var engine = JobsCommand.LoadEngine(database, useSnapshot: true);
            var now = engine.Time.GetUtcNow();
            var request = new ReportRequest(reportKind, day ?? ReportPeriod.DefaultDate(reportKind, DateOnly.FromDateTime(now.UtcDateTime)), scope, language);
            ReportFile report;
            try
            {
                var health = new Engine.Quality.FigureHealthReader(database, engine.Dictionary, Engine.Catalog.EventCatalog.Default, engine);
                report = new ReportBuilder(engine, code, health).Build(request, now);
            }
            catch (ReportException e)
            {
                return CommonOptions.Fail(e.Message);
            }
            string path;
            if (parse.GetValue(output) is { } directory)
            {
                Directory.CreateDirectory(directory);
                path = Path.GetFullPath(Path.Combine(directory, report.FileName));
                File.WriteAllBytes(path, report.Content);
            }
            else
            {
                new ReportStore(database).Save(report, now, runId: null);
                path = ReportStore.FileIn(database, report.FileName);
            }
            Console.WriteLine($"{ReportKinds.Name(reportKind)} report {report.Id}: {report.Period.Start:yyyy-MM-dd} to {report.Period.End:yyyy-MM-dd}, "
                + $"{scope.Label}, {report.Content.Length:N0} bytes");
            if (parse.GetValue(pdf))
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
        });
        return command;
    }
}
