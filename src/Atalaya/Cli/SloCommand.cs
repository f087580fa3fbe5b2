using System.CommandLine;
using System.Globalization;
using Atalaya.Engine.Slo;
using Atalaya.Engine.Storage;

namespace Atalaya.Cli;

/// <summary><c>atalaya slo report --month YYYY-MM</c>: validates a month's service-level objectives and appends the result to the data folder's slo-validation.log.</summary>
public static class SloCommand
{
    public static Command Create()
    {
        var command = new Command("slo", "Service-level objectives (docs/slo.md): collector availability, ingest-to-visible latency, KPI freshness, read latency.");
        var data = CommonOptions.Data();
        var month = new Option<string>("--month") { Description = "The UTC month to validate, as YYYY-MM (default: last month).", HelpName = "YYYY-MM" };
        var postgres = CommonOptions.Postgres("Read a cluster's SLO counts (every node's)");
        var report = new Command("report", "Print each objective's attainment over the month and append the validation to DATA/slo-validation.log; exit code 0 all met, 3 some missed.")
        {
            data, month, postgres,
        };
        report.SetAction(parse =>
        {
            var now = DateTimeOffset.UtcNow;
            var text = parse.GetValue(month) ?? now.AddMonths(-1).ToString("yyyy-MM", CultureInfo.InvariantCulture);
            if (!DateTime.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first))
            {
                return CommonOptions.Fail($"--month: '{text}' is not a month; write it as YYYY-MM, e.g. {now.AddMonths(-1):yyyy-MM}");
            }
            if (first > now.UtcDateTime)
            {
                return CommonOptions.Fail($"--month: {text} has not started yet");
            }
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            var database = HubDatabase.Open(parse.GetValue(data)!);
            IReadOnlyList<SloStatus> statuses;
            try
            {
                (statuses, _) = SloReport.Append(database, SloRows.Of(database, shared), first.Year, first.Month, now);
            }
            catch (Engine.Postgres.StateUnavailableException e)
            {
                return CommonOptions.Fail($"--postgres: {e.Message}; try again once it is back.");
            }
            TextTable.Print(["slo", "objective", "attainment", "error budget left", "good / total", "met"], statuses.Select(s => (IReadOnlyList<string>)
            [
                s.Objective.Name, Percent(s.Objective.Objective), s.Attainment is { } a ? Percent(a) : "no data",
                s.ErrorBudgetRemaining is { } b ? Percent(b) : "", $"{s.Good} / {s.Total}", s.Met switch { true => "yes", false => "NO", null => "" },
            ]));
            Console.WriteLine($"Appended to {Path.Combine(database.DataDirectory, SloReport.LogFileName)}");
            return statuses.Any(s => s.Met == false) ? 3 : 0;
        });
        command.Add(report);
        return command;
    }

    private static string Percent(double v) => (v * 100).ToString("0.###", CultureInfo.InvariantCulture) + " %";
}
