using System.CommandLine;
using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Storage;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya jobs run NAME</c> and <c>atalaya jobs list</c>; <c>atalaya runs</c>. A job run from
/// the command line takes the same lock as the scheduler's (a serve on the same data folder
/// included) and leaves the same <c>pipeline_runs</c> record. With <c>--clickhouse</c> and
/// <c>--postgres</c> it runs a job for a cluster, as a node's run: the cluster's events loaded once
/// from ClickHouse, the run, its lock and what the job writes in PostgreSQL.
/// </summary>
public static class JobsCommand
{
    /// <summary>Exit code when the job is already running elsewhere (not an error of the job itself).</summary>
    public const int Busy = 4;

    public static Command Create()
    {
        var command = new Command("jobs", "Scheduled jobs: run one now, or list them with their schedules.");
        command.Add(RunCommand());
        command.Add(ListCommand());
        return command;
    }

    private static Command RunCommand()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var name = new Argument<string>("NAME") { Description = "The job: daily_batch, kpi_refresh, dq_health or retention (see `atalaya jobs list`)." };
        var cluster = new ClusterOptions(
            "Run the job for a cluster (with --clickhouse): its run, its lock and what it writes (marts, findings, reports) in the cluster's PostgreSQL, as a node's run",
            "the job reads the cluster's events from there (loaded once, as a node does at start)");
        var run = new Command("run", "Run a job now and wait for it; exit code 0 success, 1 partial or failed, 4 already running.")
        {
            name, data, environment, configDirectory, cluster.Postgres, cluster.ClickHouse,
        };
        run.SetAction(async (parse, ct) =>
        {
            if (cluster.Refuse(parse, "a job", "POST /api/jobs/NAME/run with an admin token", "runs, locks and marts") is { } refused)
            {
                return refused;
            }
            var connectionString = parse.GetValue(cluster.Postgres);
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            var job = parse.GetValue(name)!;
            if (JobCatalog.Find(config, job) is null)
            {
                return CommonOptions.Fail($"unknown job '{job}'; jobs: {JobCatalog.Names(config)}");
            }
            var database = HubDatabase.Open(parse.GetValue(data)!);
            if (connectionString is null)
            {
                return Run(new JobRunner(database, LoadEngine(database, useSnapshot: true), config), job);
            }
            return await CommonOptions.RunOnClusterAsync(connectionString, parse.GetValue(cluster.ClickHouse)!, database, config, (runner, _) => Run(runner, job), ct);
        });
        return run;
    }

    private static int Run(JobRunner runner, string job)
    {
        var started = runner.TryBegin(job, "cli", out var busyWith);
        if (started is null)
        {
            Console.Error.WriteLine($"error: {job} is already running ({busyWith}); wait for it or see `atalaya runs --job {job}`.");
            return Busy;
        }
        PipelineRun? result = null;
        AnsiConsole.Status().Start($"Running {job} ({started.RunId}) …", _ => result = runner.Execute(started));
        Print(result!);
        return result!.Status == RunStatus.Success ? 0 : 1;
    }

    private static Command ListCommand()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var postgres = CommonOptions.Postgres("Read the last runs of a cluster's jobs, kept");
        var list = new Command("list", "Every job with its schedule (cron, UTC), next time and last run.") { data, environment, configDirectory, postgres };
        list.SetAction(parse =>
        {
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            var runs = State(parse.GetValue(data)!, shared).Runs;
            TextTable.Print(["job", "schedule (UTC)", "next run", "last run", "status", "description"], JobCatalog.All(config).Select(job =>
            {
                var cron = config.Schedules[job.ScheduleKey];
                var next = job.Scheduled ? $"{EnvironmentConfig.ParseCron(cron)!.GetNextOccurrence(DateTime.UtcNow):yyyy-MM-dd HH:mm}" : "off";
                var last = runs.Query(new RunFilter(Job: job.Name, Limit: 1)).FirstOrDefault();
                return new[]
                {
                    job.Name, cron, next, last is null ? "never" : $"{last.StartTime.UtcDateTime:yyyy-MM-dd HH:mm}",
                    last is null ? "-" : PipelineRuns.StatusName(last.Status), job.Description,
                };
            }));
            Console.WriteLine($"Environment: {config.Environment} ({config.Source}).");
            return 0;
        });
        return list;
    }

    /// <summary><c>atalaya runs</c>: the pipeline_runs record as a table.</summary>
    public static Command Runs()
    {
        var data = CommonOptions.Data();
        var job = new Option<string?>("--job") { Description = "Only this job's runs.", HelpName = "NAME" };
        var status = new Option<string?>("--status") { Description = "Only runs with this status: running, success, partial or failed.", HelpName = "STATUS" };
        status.AcceptOnlyFromAmong("running", "success", "partial", "failed");
        var date = new Option<string?>("--date") { Description = "Only runs started on this UTC day (YYYY-MM-DD).", HelpName = "DATE" };
        var limit = new Option<int>("--limit") { Description = "How many runs, newest first.", DefaultValueFactory = _ => 20, HelpName = "N" };
        var postgres = CommonOptions.Postgres("List a cluster's runs (every node's), kept");
        var command = new Command("runs", "The record of job runs (pipeline_runs), newest first.") { data, job, status, date, limit, postgres };
        command.SetAction(parse =>
        {
            DateOnly? day = null;
            if (parse.GetValue(date) is { } text)
            {
                if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", out var d))
                {
                    return CommonOptions.Fail($"--date: '{text}' is not a date; use YYYY-MM-DD");
                }
                day = d;
            }
            if (parse.GetValue(limit) is < 1 or > 10_000)
            {
                return CommonOptions.Fail("--limit: must be from 1 to 10000");
            }
            RunStatus? wanted = parse.GetValue(status) is { } s && PipelineRuns.TryParseStatus(s, out var st) ? st : null;
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            var runs = State(parse.GetValue(data)!, shared).Runs.Query(new RunFilter(parse.GetValue(job), wanted, day, day, parse.GetValue(limit)));
            if (runs.Count == 0)
            {
                Console.WriteLine("No runs recorded" + (parse.GetValue(job) is { } j ? $" for {j}" : "") + ".");
                return 0;
            }
            TextTable.Print(["run_id", "job", "source_system", "start_time", "end_time", "status", "records_written", "error_class", "error_message"],
                runs.Select(run => new[]
                {
                    run.RunId, run.Job, run.SourceSystem, PipelineRuns.Iso(run.StartTime), run.EndTime is { } end ? PipelineRuns.Iso(end) : "-",
                    PipelineRuns.StatusName(run.Status), run.RecordsWritten.ToString(System.Globalization.CultureInfo.InvariantCulture), run.ErrorClass ?? "", run.ErrorMessage ?? "",
                }));
            return 0;
        });
        return command;
    }

    /// <summary>Where runs are read: the cluster's PostgreSQL when given (the data folder is then not opened), else the data folder.</summary>
    private static JobState State(string dataDirectory, Engine.Postgres.PostgresState? shared) =>
        shared is not null ? JobState.Shared(shared) : JobState.Embedded(HubDatabase.Open(dataDirectory));

    /// <summary>Opens the KPI engine from the snapshot (when asked and usable) and the raw blocks, with a progress bar.</summary>
    public static KpiEngine LoadEngine(HubDatabase database, bool useSnapshot)
    {
        var engine = new KpiEngine(KpiDictionary.Default);
        using var connection = database.Connect();
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(progress =>
            {
                var task = progress.AddTask(useSnapshot ? "Loading the KPI engine" : "Reading raw events", maxValue: 1);
                engine.Load(connection, useSnapshot ? Hub.SnapshotPath(database.DataDirectory) : null, (done, total) =>
                {
                    task.MaxValue = Math.Max(1, total);
                    task.Value = done;
                });
                task.Value = task.MaxValue;
            });
        return engine;
    }

    public static void Print(PipelineRun run)
    {
        Console.WriteLine($"{run.Job} {run.RunId}: {PipelineRuns.StatusName(run.Status)}, {run.RecordsWritten:N0} records written"
            + (run.ErrorMessage is { } e ? $" — {e}" : ""));
        using var details = System.Text.Json.JsonDocument.Parse(run.Details);
        if (details.RootElement.TryGetProperty("steps", out var steps))
        {
            foreach (var step in steps.EnumerateArray())
            {
                var range = step.TryGetProperty("from", out var from) ? $" {from.GetString()}..{step.GetProperty("to").GetString()}" : "";
                var extra = step.TryGetProperty("events", out var ev) ? $", {ev.GetInt64():N0} events" : "";
                var note = step.TryGetProperty("note", out var n) ? $" ({n.GetString()})" : "";
                var error = step.TryGetProperty("error", out var er) ? $": {er.GetString()}" : "";
                Console.WriteLine($"  {step.GetProperty("step").GetString(),-17} {step.GetProperty("status").GetString(),-8}{range} {step.GetProperty("records_written").GetInt64():N0} records{extra}{note}{error}");
            }
        }
    }

}
