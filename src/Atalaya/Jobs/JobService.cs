using Atalaya.Engine;
using Atalaya.Engine.Jobs;
using Atalaya.Http;

namespace Atalaya.Jobs;

/// <summary>
/// The server's way to run jobs, shared by the scheduler and <c>POST /api/jobs/{name}/run</c>:
/// one <see cref="JobRunner"/> over the open hub (its live KPI engine, its snapshot), runs started
/// on a background thread so an HTTP caller gets its run id at once.
/// </summary>
public sealed class JobService(HubState state, ServeOptions options, ILogger<JobService> logger)
{
    private JobRunner? _runner;

    public JobRunner Runner(Hub hub) => _runner ??= new JobRunner(hub.Database, hub.Kpis, options.Config)
    {
        State = hub.Jobs,
        OnCluster = hub.Cluster is not null,
        // On a cluster the marts' watermarks are ClickHouse insert times, not this folder's sequence numbers.
        Events = hub.Cluster is { } cluster ? new Engine.Cluster.ClusterEventPositions(cluster) : null,
        // A cluster node loads its projection from ClickHouse at every start: no snapshot to keep.
        SaveSnapshot = hub.Cluster is null ? () => hub.Kpis.SaveSnapshot(Hub.SnapshotPath(hub.DataDirectory)) : null,
        ReportingCurrency = options.Ingest.ReportingCurrency,
    };

    /// <summary>Begins a run and carries it out in the background; null with the holder when the job is already running.</summary>
    /// <param name="stillDue">Asked under the job's lock (the scheduler's: has no run started since the job fell due, on any node?); false starts nothing.</param>
    public (StartedRun? Run, Task<PipelineRun>? Completion, string? BusyWith) Start(string job, string trigger, Func<IRunRows, bool>? stillDue = null) =>
        StartWith(job, trigger, runner => runner.TryBegin(job, trigger, out var busyWith, stillDue) is { } started ? (started, null) : (null, busyWith));

    /// <summary>Begins a run of a job defined by the caller (a backfill and its range) and carries it out in the background; null with the holder when its lock is held.</summary>
    public (StartedRun? Run, Task<PipelineRun>? Completion, string? BusyWith) Start(JobDefinition definition, string trigger, string sourceSystem) =>
        StartWith(definition.Name, trigger, runner => runner.TryBegin(definition, trigger, sourceSystem, out var busyWith) is { } started ? (started, null) : (null, busyWith));

    private (StartedRun? Run, Task<PipelineRun>? Completion, string? BusyWith) StartWith(string job, string trigger, Func<JobRunner, (StartedRun?, string?)> begin)
    {
        var hub = state.Require();
        var runner = Runner(hub);
        StartedRun? started;
        string? busyWith;
        try
        {
            (started, busyWith) = begin(runner);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or Engine.Postgres.StateUnavailableException)
        {
            // The run cannot even be recorded (a full disk): refuse it as the collector refuses writes.
            throw new BodyException(StatusCodes.Status503ServiceUnavailable,
                $"The run of {job} cannot be recorded right now ({e.Message}); retry later.");
        }
        if (started is null)
        {
            return (null, null, busyWith);
        }
        var completion = Task.Run(() => Log(runner.Execute(started)));
        // A run started over HTTP is not awaited: its end that could not be recorded (a full disk,
        // PostgreSQL away) is logged here; the next start marks the run failed.
        _ = completion.ContinueWith(t => logger.LogError(t.Exception!.GetBaseException(), "Job {Job} ({Trigger}) could not record its end: {Reason}",
            job, trigger, t.Exception!.GetBaseException().Message), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return (started, completion, null);
    }

    /// <summary>Runs a job to its end on the caller's task; null when another run holds its lock.</summary>
    public async Task<PipelineRun?> RunAsync(string job, string trigger, Func<IRunRows, bool>? stillDue = null)
    {
        var (_, completion, busyWith) = Start(job, trigger, stillDue);
        if (completion is null && busyWith is null)
        {
            logger.LogInformation("Job {Job} not started ({Trigger}): it already ran since it fell due (another node or process ran it)", job, trigger);
            return null;
        }
        if (completion is null)
        {
            logger.LogInformation("Job {Job} not started ({Trigger}): already running ({Holder})", job, trigger, busyWith);
            return null;
        }
        return await completion.ConfigureAwait(false);
    }

    private PipelineRun Log(PipelineRun run)
    {
        if (run.Status == RunStatus.Success)
        {
            logger.LogInformation("Job {Job} {RunId} ({Trigger}): success, {Records} records written", run.Job, run.RunId, run.Trigger, run.RecordsWritten);
        }
        else
        {
            logger.LogWarning("Job {Job} {RunId} ({Trigger}): {Status}, {Records} records written: {Error}",
                run.Job, run.RunId, run.Trigger, PipelineRuns.StatusName(run.Status), run.RecordsWritten, run.ErrorMessage);
        }
        return run;
    }
}
