using System.Text.Json;
using Atalaya.Engine.Config;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Jobs;

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

    /// <summary>The environment whose jobs this runner runs (<see cref="JobCatalog"/> finds them by name in it).</summary>
    public EnvironmentConfig Config => config;

    /// <summary>Whether this runner runs on a cluster node, whose events live in ClickHouse (see <see cref="JobDefinition.RewritesStoredEvents"/>).</summary>
    public bool OnCluster { get; init; }

    /// <summary>Where the stored events end, for the marts' watermarks: the data folder's log unless set (a cluster node asks ClickHouse).</summary>
    public IEventPositions? Events { get; init; }

    /// <summary>Where runs are recorded and locks taken: the data folder unless the hub shares a cluster's PostgreSQL.</summary>
    public JobState State { get; init; } = JobState.Embedded(database);

    /// <summary>
    /// Begins a run of a job defined by the caller (a backfill and its range), recorded under <paramref name="sourceSystem"/>.
    /// <paramref name="stillDue"/>, when given, is asked once the lock is held: false (another node or
    /// process ran the job since it fell due) returns null with <paramref name="busyWith"/> null.
    /// </summary>
    public StartedRun? TryBegin(JobDefinition definition, string trigger, string sourceSystem, out string? busyWith, Func<IRunRows, bool>? stillDue = null)
    {
        var job = definition.Name;
        var start = _time.GetUtcNow();
        var runId = PipelineRuns.NewRunId(start);
        var taken = State.Locks.TryTake(definition.LockName, $"{job} {runId}", out busyWith);
        if (taken is null)
        {
            return null;
        }
        try
        {
            if (stillDue is not null && !stillDue(State.Runs))
            {
                taken.Dispose();
                return null;
            }
            // The clock is read again: the lock may have taken a moment, and a run's start must not precede the check above.
            start = _time.GetUtcNow();
            State.Runs.Start(new PipelineRun(runId, job, sourceSystem, start, null, RunStatus.Running, 0, null, trigger, "{}"));
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
                steps = OnCluster && started.Definition.RewritesStoredEvents && !started.Definition.RewritesOnCluster
                    ? [new StepOutcome(started.Definition.Name, false, 0, null, null,
                        "not built on a cluster: the events live in ClickHouse, which this job does not rewrite yet; nothing was dropped (docs/scale-out.md)")]
                    : started.Definition.Run(new JobContext(database, engine, config, started.RunId, _time)
                    {
                        SaveSnapshot = SaveSnapshot,
                        ReportingCurrency = ReportingCurrency,
                        State = State,
                        Events = Events ?? new StoredEventPositions(database, engine),
                    });
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
        State.Runs.Finish(runId, _time.GetUtcNow(), status, steps.Sum(s => s.Records), error, Details(steps));
        return State.Runs.Get(runId)!;
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
