using System.Text.Json;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Jobs;

/// <summary>What a job works with: the store, the KPI engine, the environment, the run's id and clock.</summary>
public sealed record JobContext(HubDatabase Database, KpiEngine Engine, EnvironmentConfig Config, string RunId, TimeProvider Time)
{
    /// <summary>Saves the KPI projection's snapshot; set only inside <c>serve</c>, which owns the snapshot file.</summary>
    public Action? SaveSnapshot { get; init; }

    /// <summary>The currency money KPIs are reported in (the hub's <c>--reporting-currency</c>), for the reports' formats.</summary>
    public string ReportingCurrency { get; init; } = "USD";

    /// <summary>How report jobs deliver to recipients; null is the data folder's outbox.</summary>
    public Reports.IReportDelivery? ReportDelivery { get; init; }
}

/// <summary>
/// A job: its name, what it does, the configuration key of its schedule, the lock it shares with
/// jobs that write the same tables (daily_batch, kpi_refresh and backfill all write the marts),
/// and its steps.
/// </summary>
public sealed record JobDefinition(string Name, string Description, string ScheduleKey, string LockName, Func<JobContext, IReadOnlyList<StepOutcome>> Run)
{
    /// <summary>Whether the scheduler runs it (retention only when the environment turns it on).</summary>
    public bool Scheduled { get; init; } = true;
}

/// <summary>The outcome of asking for a run: the recorded run, or who holds the lock when it could not start.</summary>
public sealed record RunRequestResult(PipelineRun? Run, string? BusyWith);

/// <summary>A run that holds its job's lock and is recorded as running.</summary>
public sealed class StartedRun(JobDefinition definition, string runId, JobLock held) : IDisposable
{
    public JobDefinition Definition { get; } = definition;

    public string RunId { get; } = runId;

    public void Dispose() => held.Dispose();
}

/// <summary>The jobs the hub knows.</summary>
public static class JobCatalog
{
    /// <summary>The lock of every job that writes the marts (backfill too).</summary>
    public const string MartsLock = "marts";

    /// <summary>The data-quality job (seed 003's kpi_dq_health_checks).</summary>
    public const string QualityJob = "dq_health";

    public static IReadOnlyList<JobDefinition> All(EnvironmentConfig config) =>
    [
        new("daily_batch", "D+1 batch: staging and the marts up to yesterday (UTC), late events included.",
            "jobs.daily_batch_schedule", MartsLock, c => new MartBatch(c.Database, c.Engine).Run(c.RunId)),
        new("kpi_refresh", "Refreshes the marts for events that arrived late and saves the KPI engine's snapshot.",
            "kpi.refresh_schedule", MartsLock, Refresh),
        new(QualityJob, "Data-quality checks: freshness, missing fields, volume anomalies, schema drift, order amounts, quarantine, failed runs.",
            "kpi.dq_health_schedule", "quality", Quality.QualityJob.Run),
        new("retention", $"Drops whole months of raw events older than {config.Retention.RawEventsMonths} months once their marts are final (retention.enabled).",
            "retention.schedule", "retention", c => new RetentionPolicy(c.Database, c.Config.Retention.RawEventsMonths).Run(c.RunId, c.Time, c.Config.Retention.Enabled))
        {
            Scheduled = config.Retention.Enabled,
        },
        .. Reports.ReportJobs.All(),
        .. Connectors.ConnectorJobs.Definitions(config),
        Privacy.PersonalFieldsRetention.Job(config),
    ];

    public static JobDefinition? Find(EnvironmentConfig config, string name) => All(config).FirstOrDefault(j => j.Name == name);

    public static string Names(EnvironmentConfig config) => string.Join(", ", All(config).Select(j => j.Name));

    private static IReadOnlyList<StepOutcome> Refresh(JobContext c)
    {
        var steps = new MartBatch(c.Database, c.Engine).Run(c.RunId).ToList();
        if (c.SaveSnapshot is { } save)
        {
            try
            {
                save();
                steps.Add(new StepOutcome("snapshot", true, 0, null, null, null));
            }
            catch (IOException e)
            {
                steps.Add(new StepOutcome("snapshot", false, 0, null, null, e.Message));
            }
        }
        return steps;
    }
}

/// <summary>
/// Runs a job once: takes its lock (refusing when another run, in this process or another, holds
/// it), records the run in <c>pipeline_runs</c> as running, runs the steps, and records the end:
/// success when every step succeeded, partial when some did, failed when none did or the job threw.
/// </summary>
public sealed class JobRunner(HubDatabase database, KpiEngine engine, EnvironmentConfig config, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? engine.Time;

    public Action? SaveSnapshot { get; init; }

    public string ReportingCurrency { get; init; } = "USD";

    public RunRequestResult Run(string job, string trigger)
    {
        var started = TryBegin(job, trigger, out var busyWith);
        return started is null ? new RunRequestResult(null, busyWith) : new RunRequestResult(Execute(started), null);
    }

    /// <summary>
    /// Takes the job's lock and records the run as running; null (and who holds the lock) when
    /// another run has it. The caller then runs it with <see cref="Execute"/>, possibly on another thread.
    /// </summary>
    public StartedRun? TryBegin(string job, string trigger, out string? busyWith) =>
        TryBegin(JobCatalog.Find(config, job) ?? throw new ArgumentException($"unknown job '{job}'; jobs: {JobCatalog.Names(config)}"),
            trigger, "all", out busyWith);

    /// <summary>Begins a run of a job defined by the caller (a backfill and its range), recorded under <paramref name="sourceSystem"/>.</summary>
    public StartedRun? TryBegin(JobDefinition definition, string trigger, string sourceSystem, out string? busyWith)
    {
        var job = definition.Name;
        var start = _time.GetUtcNow();
        var runId = PipelineRuns.NewRunId(start);
        var taken = JobLock.TryTake(database.DataDirectory, definition.LockName, $"{job} {runId}", out busyWith);
        if (taken is null)
        {
            return null;
        }
        try
        {
            PipelineRuns.Start(database, new PipelineRun(runId, job, sourceSystem, start, null, RunStatus.Running, 0, null, trigger, "{}"));
        }
        catch
        {
            taken.Dispose();
            throw;
        }
        return new StartedRun(definition, runId, taken);
    }

    /// <summary>Runs the steps of a begun run, records its end and releases its lock.</summary>
    public PipelineRun Execute(StartedRun started)
    {
        using (started)
        {
            IReadOnlyList<StepOutcome> steps;
            try
            {
                steps = started.Definition.Run(new JobContext(database, engine, config, started.RunId, _time) { SaveSnapshot = SaveSnapshot, ReportingCurrency = ReportingCurrency });
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A job that throws is recorded, never lost in a log line; the scheduler goes on.
                steps = [new StepOutcome(started.Definition.Name, false, 0, null, null, e.Message)];
            }
            return Finish(started.RunId, steps);
        }
    }

    /// <summary>
    /// Records the end of a run from its steps: success when all succeeded, partial when some
    /// writing step succeeded and another failed, failed otherwise. Returns the stored row.
    /// </summary>
    public PipelineRun Finish(string runId, IReadOnlyList<StepOutcome> steps)
    {
        var failed = steps.Where(s => !s.Succeeded).ToList();
        var status = failed.Count == 0 ? RunStatus.Success
            : steps.Any(s => s.Writes && s.Succeeded) ? RunStatus.Partial
            : RunStatus.Failed;
        var error = failed.Count == 0 ? null : string.Join("; ", failed.Select(s => $"{s.Step}: {s.Error}"));
        PipelineRuns.Finish(database, runId, _time.GetUtcNow(), status, steps.Sum(s => s.Records), error, Details(steps));
        return PipelineRuns.Get(database, runId)!;
    }

    public static string Details(IReadOnlyList<StepOutcome> steps)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("steps");
            foreach (var s in steps)
            {
                w.WriteStartObject();
                w.WriteString("step", s.Step);
                w.WriteString("status", s.Succeeded ? "success" : "failed");
                w.WriteNumber("records_written", s.Records);
                if (s.From is { } from && s.To is { } to)
                {
                    w.WriteString("from", from.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                    w.WriteString("to", to.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                }
                if (s.Events is { } events)
                {
                    w.WriteNumber("events", events);
                }
                if (s.Note is { } note)
                {
                    w.WriteString("note", note);
                }
                if (s.Error is { } error)
                {
                    w.WriteString("error", error);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
