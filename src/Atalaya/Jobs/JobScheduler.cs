using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Http;
using NCrontab;

namespace Atalaya.Jobs;

/// <summary>
/// The scheduler inside <c>serve</c>. Once the hub is open it marks runs a crash left "running" as
/// failed, logs the backfills a KPI definition change needs, catches up every job whose last
/// scheduled time passed while the hub was down (one run covers all the missed days: the marts
/// batch works from its watermarks), then runs each job at its cron times (UTC). A job already
/// running — here or in another process on the same data folder, or on another node of a cluster
/// sharing PostgreSQL — is skipped, not queued; and once the lock is held, a job that another node
/// or process already ran since it fell due is not run again (each job runs once across nodes).
/// </summary>
public sealed class JobScheduler(HubState state, JobService jobs, ServeOptions options, ILogger<JobScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hub = await state.OpenedAsync(stoppingToken);
        var time = hub.Kpis.Time;
        // A cluster node's figures are complete once its projection holds what ClickHouse held at its
        // start: a mart written before then would miss days of events. The node shows no event for
        // that moment, so it is polled (a few seconds per 10M events).
        while (hub.Cluster is { Answering: false })
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, stoppingToken);
        }
        var config = options.Config;
        var scheduled = JobCatalog.All(config).Where(j => j.Scheduled)
            .Select(j => (Job: j, Cron: EnvironmentConfig.ParseCron(config.Schedules[j.ScheduleKey])!)).ToList();

        var runs = hub.Jobs.Runs;
        try
        {
            var abandoned = PipelineRuns.FailAbandoned(runs,
                job => JobCatalog.Find(config, job) is { } d && hub.Jobs.Locks.IsHeld(d.LockName), time.GetUtcNow());
            if (abandoned > 0)
            {
                logger.LogWarning("{Count} runs were cut short by the last stop; recorded as failed", abandoned);
            }
        }
        catch (Engine.Postgres.StateUnavailableException e)
        {
            // The next start marks them; the scheduler does not stop for it.
            logger.LogError("Runs cut short by the last stop could not be looked for: {Reason}", e.Message);
        }
        try
        {
            foreach (var p in MartVersions.Proposals(hub.Marts, hub.Kpis.Dictionary))
            {
                logger.LogWarning("KPI {Metric} is at version {Current} but {Mart} holds version {Recorded} from {From} to {To} ({Reason}); review and apply: {Command}",
                    p.Metric, p.CurrentVersion, p.Mart, p.RecordedVersion, p.From, p.To, p.Reason, p.Command);
            }
        }
        catch (Engine.Postgres.StateUnavailableException e)
        {
            logger.LogError("The marts' KPI versions could not be compared with the dictionary: {Reason}", e.Message);
        }

        foreach (var (job, cron) in scheduled)
        {
            bool missed;
            try
            {
                missed = Missed(runs, job.Name, cron, time.GetUtcNow());
            }
            catch (Engine.Postgres.StateUnavailableException e)
            {
                logger.LogError("Job {Job} could not be caught up: {Reason}; its next scheduled time will run it", job.Name, e.Message);
                continue;
            }
            if (missed)
            {
                // Asked again under the lock: another node may have caught it up meanwhile.
                await RunSafelyAsync(job.Name, "catch-up", rows => Missed(rows, job.Name, cron, time.GetUtcNow()));
            }
        }

        logger.LogInformation("Scheduler caught up: {Count} jobs scheduled, job runs and locks in {Where}", scheduled.Count,
            hub.Cluster is null ? "the data folder" : "the cluster's PostgreSQL");
        var checkedUntil = time.GetUtcNow().UtcDateTime;
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = scheduled.Min(s => s.Cron.GetNextOccurrence(checkedUntil));
            var wait = next - time.GetUtcNow().UtcDateTime;
            // Sleep in steps of at most a minute: a changed system clock is noticed soon.
            await Task.Delay(wait < TimeSpan.Zero ? TimeSpan.Zero : wait > TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : wait, time, stoppingToken);
            var now = time.GetUtcNow().UtcDateTime;
            foreach (var (job, cron) in scheduled)
            {
                var due = new DateTimeOffset(cron.GetNextOccurrence(checkedUntil), TimeSpan.Zero);
                if (due <= now)
                {
                    // Every node wakes at this time: the first to take the lock runs it, the others find its run.
                    await RunSafelyAsync(job.Name, "schedule", rows => !(PipelineRuns.LastStart(rows, job.Name) >= due));
                }
            }
            checkedUntil = now;
        }
    }

    /// <summary>A run that fails to start or to record itself (a full disk) is logged; the scheduler goes on.</summary>
    private async Task RunSafelyAsync(string job, string trigger, Func<IRunRows, bool> stillDue)
    {
        try
        {
            await jobs.RunAsync(job, trigger, stillDue);
        }
        catch (Exception e) when (e is BodyException or Microsoft.Data.Sqlite.SqliteException or IOException or Engine.Postgres.StateUnavailableException)
        {
            logger.LogError(e, "Job {Job} ({Trigger}) could not run: {Reason}; the next scheduled time will try again", job, trigger, e.Message);
        }
    }

    /// <summary>Whether a scheduled time of <paramref name="job"/> passed since it last started (or it never ran).</summary>
    public static bool Missed(IRunRows runs, string job, CrontabSchedule cron, DateTimeOffset now) =>
        PipelineRuns.LastStart(runs, job) is not { } last || cron.GetNextOccurrence(last.UtcDateTime) <= now.UtcDateTime;
}
