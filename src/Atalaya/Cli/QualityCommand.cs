using System.CommandLine;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Quality;
using Atalaya.Engine.Storage;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya quality run</c> runs the data-quality checks now (the dq_health job, with its lock and
/// its pipeline_runs record) and prints the findings; <c>atalaya quality show</c> prints the findings
/// of the newest (or a given) run.
/// </summary>
public static class QualityCommand
{
    /// <summary>Exit code when the checks ran and at least one finding is fail (usable from cron or CI).</summary>
    public const int Findings = 3;

    public static Command Create()
    {
        var command = new Command("quality", "Data-quality checks: freshness, missing fields, volume anomalies, schema drift, order amounts, quarantine, failed runs.");
        command.Add(RunCommand());
        command.Add(ShowCommand());
        return command;
    }

    private static Command RunCommand()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var cluster = new ClusterOptions(
            "Run the checks for a cluster (with --clickhouse): the run, its lock and its findings in the cluster's PostgreSQL, as a node's dq_health run",
            "the checks profile the cluster's events there and read the order ledger from them (loaded once, as a node does at start)");
        var run = new Command("run", "Run every check now and print the findings, worst first; exit code 0 none failed, 3 some failed, 1 the run itself failed, 4 already running.")
        {
            data, environment, configDirectory, cluster.Postgres, cluster.ClickHouse,
        };
        run.SetAction(async (parse, ct) =>
        {
            if (cluster.Refuse(parse, "the quality run", "POST /api/jobs/dq_health/run with an admin token", "runs, locks and findings") is { } refused)
            {
                return refused;
            }
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            var database = HubDatabase.Open(parse.GetValue(data)!);
            if (parse.GetValue(cluster.Postgres) is not { } connectionString)
            {
                // The unknown-orders check reads the order ledger: the KPI engine is loaded, from the snapshot when usable.
                return Run(new JobRunner(database, JobsCommand.LoadEngine(database, useSnapshot: true), config), runId => QualityRows.For(database, null).Read(runId));
            }
            return await CommonOptions.RunOnClusterAsync(connectionString, parse.GetValue(cluster.ClickHouse)!, database, config,
                (runner, state) => Run(runner, runId => QualityRows.For(database, state).Read(runId)), ct);
        });
        return run;
    }

    /// <summary>Runs dq_health now and prints its findings, read back from where the run kept them.</summary>
    private static int Run(JobRunner runner, Func<string, IReadOnlyList<QualityResult>> findingsOf)
    {
        var started = runner.TryBegin(JobCatalog.QualityJob, "cli", out var busyWith);
        if (started is null)
        {
            Console.Error.WriteLine($"error: the checks are already running ({busyWith}); wait for them or see `atalaya runs --job {JobCatalog.QualityJob}`.");
            return JobsCommand.Busy;
        }
        PipelineRun? result = null;
        AnsiConsole.Status().Start($"Checking data quality ({started.RunId}) …", _ => result = runner.Execute(started));
        JobsCommand.Print(result!);
        if (result!.Status != RunStatus.Success)
        {
            return 1;
        }
        var findings = findingsOf(result.RunId);
        Console.WriteLine();
        Print(findings);
        return findings.Any(f => f.Status == QualityStatus.Fail) ? Findings : 0;
    }

    private static Command ShowCommand()
    {
        var data = CommonOptions.Data();
        var runId = new Option<string?>("--run") { Description = "A dq_health run id (default the newest).", HelpName = "RUN_ID" };
        var status = new Option<string?>("--status") { Description = "Only findings with these statuses (comma list of ok, warn, fail, skipped).", HelpName = "LIST" };
        var postgres = CommonOptions.Postgres("Read the findings of a cluster's data-quality runs (whichever node ran them), kept");
        var show = new Command("show", "Print the findings of the newest data-quality run (or --run), worst first.") { data, runId, status, postgres };
        show.SetAction(parse =>
        {
            HashSet<QualityStatus>? wanted = null;
            foreach (var s in CommonOptions.List(parse.GetValue(status)))
            {
                if (!QualityResult.TryParseStatus(s, out var st))
                {
                    return CommonOptions.Fail($"--status: '{s}' is not one of ok, warn, fail, skipped");
                }
                (wanted ??= []).Add(st);
            }
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            // With --postgres the data folder is not opened: the findings are the cluster's.
            var results = shared is not null ? QualityRows.Shared(shared) : QualityRows.For(HubDatabase.Open(parse.GetValue(data)!), null);
            var id = parse.GetValue(runId) ?? results.LatestRun();
            if (id is null)
            {
                Console.WriteLine("No data-quality run yet: run `atalaya quality run`.");
                return 0;
            }
            var all = results.Read(id);
            if (all.Count == 0)
            {
                return CommonOptions.Fail($"--run: no data-quality results for '{id}'; see `atalaya runs --job {JobCatalog.QualityJob}`");
            }
            var findings = all.Where(f => wanted is null || wanted.Contains(f.Status)).ToList();
            Console.WriteLine($"Run {id}, checked at {PipelineRuns.Iso(all[0].CheckedAt)}:");
            Print(findings);
            return 0;
        });
        return show;
    }

    private static void Print(IReadOnlyList<QualityResult> findings)
    {
        TextTable.Print(["status", "check", "subject", "value", "warn / fail", "message"], findings.Select(f => new[]
        {
            QualityResult.StatusName(f.Status).ToUpperInvariant(), f.Check, f.Subject,
            f.Value is { } v ? $"{v.ToString("0.###", CultureInfo.InvariantCulture)} {f.Unit}".Trim() : "-",
            f.WarnAt is { } w ? $"{w.ToString(CultureInfo.InvariantCulture)} / {f.FailAt?.ToString(CultureInfo.InvariantCulture)}" : "-",
            f.Message,
        }));
        Console.WriteLine($"{findings.Count(f => f.Status == QualityStatus.Fail)} fail, {findings.Count(f => f.Status == QualityStatus.Warn)} warn, "
            + $"{findings.Count(f => f.Status == QualityStatus.Ok)} ok, {findings.Count(f => f.Status == QualityStatus.Skipped)} skipped.");
    }
}
