using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;

namespace Atalaya.Engine;

/// <summary>The jobs the hub knows: each feature's jobs (marts, quality, retention, reports, connectors, privacy) in one list, above them all.</summary>
public static class JobCatalog
{
    /// <summary>The lock of every job that writes the marts (backfill too).</summary>
    public const string MartsLock = "marts";

    /// <summary>The data-quality job (seed 003's kpi_dq_health_checks).</summary>
    public const string QualityJob = Quality.QualityJob.Name;

    public static IReadOnlyList<JobDefinition> All(EnvironmentConfig config) =>
    [
        new("daily_batch", "D+1 batch: staging and the marts up to yesterday (UTC), late events included.",
            "jobs.daily_batch_schedule", MartsLock, c => Batch(c).Run(c.RunId)),
        new("kpi_refresh", "Refreshes the marts for events that arrived late and saves the KPI engine's snapshot.",
            "kpi.refresh_schedule", MartsLock, Refresh),
        new(QualityJob, "Data-quality checks: freshness, missing fields, volume anomalies, schema drift, order amounts, quarantine, failed runs.",
            "kpi.dq_health_schedule", "quality", c => Quality.QualityJob.Run(c, All(config))),
        new("retention", $"Drops whole months of raw events older than {config.Retention.RawEventsMonths} months once their marts are final (retention.enabled).",
            "retention.schedule", "retention", c => new Privacy.RetentionPolicy(c.Database, c.Config.Retention.RawEventsMonths)
            {
                // On a cluster the marts are in PostgreSQL and the events in ClickHouse (docs/scale-out.md).
                Marts = MartStore.For(c),
                ClusterEvents = c.Events is Cluster.ClusterEventPositions cluster ? cluster.ClickHouse : null,
            }.Run(c.RunId, c.Time, c.Config.Retention.Enabled))
        {
            Scheduled = config.Retention.Enabled,
            RewritesStoredEvents = true,
            RewritesOnCluster = true,
        },
        .. Reports.ReportJobs.All(),
        .. Connectors.ConnectorJobs.Definitions(config),
        Privacy.PersonalFieldsRetention.Job(config),
    ];

    /// <summary>The name a range backfill's runs are recorded under (not a scheduled job: each run has its range).</summary>
    public const string Backfill = "backfill";

    /// <summary>
    /// A backfill of the marts over a range (<c>atalaya backfill</c>, <c>POST /api/jobs/backfill/run</c>),
    /// under the marts' lock, so that it never runs beside daily_batch or kpi_refresh, on any node.
    /// It recomputes from the job's KPI engine into the job's marts (<see cref="MartStore.For(JobContext)"/>):
    /// the data folder's, or on a cluster node the node's projection of ClickHouse's events into PostgreSQL.
    /// </summary>
    /// <param name="done">Handed the result (the per-KPI changes) when the backfill ends.</param>
    public static JobDefinition RangeBackfill(DateOnly from, DateOnly to, Kpi.Query.DimensionFilter filter, bool apply, Action<BackfillResult>? done = null) =>
        new(Backfill, $"{from:yyyy-MM-dd}..{to:yyyy-MM-dd}", "", MartsLock, c =>
        {
            // On a cluster node this waits until the node's projection has loaded: an empty one would make empty marts.
            c.Events.Current();
            var result = new Jobs.Marts.Backfill(MartStore.For(c), c.Engine, c.Events).Run(from, to, filter, apply, c.RunId);
            done?.Invoke(result);
            if (apply)
            {
                return result.Steps;
            }
            // A dry run's findings are the changes it would make: the run's record says them (the
            // largest first), for callers that see only the run, such as POST /api/jobs/backfill/run.
            var largest = result.Diffs.OrderByDescending(d => d.MaxAbsDelta).ThenBy(d => d.Mart, StringComparer.Ordinal).Take(5)
                .Select(d => $"{d.Mart}.{d.Metric} {d.Scope} (+{d.Added} −{d.Removed} ~{d.Changed}, max |Δ| {d.MaxAbsDelta.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)})");
            var note = result.Diffs.Count == 0 ? "dry run: no figure would change"
                : $"dry run: {result.Diffs.Count} KPI × scope lines would change, largest {string.Join("; ", largest)}; the recomputed rows are in the shadow_* tables";
            return [.. result.Steps, new StepOutcome("changes", true, 0, from, to, null) { Note = note, Writes = false }];
        })
        { Scheduled = false };

    public static JobDefinition? Find(EnvironmentConfig config, string name) => All(config).FirstOrDefault(j => j.Name == name);

    /// <summary>Runs the job named <paramref name="job"/> now, or says who holds its lock.</summary>
    internal static RunRequestResult Run(this JobRunner runner, string job, string trigger)
    {
        var started = runner.TryBegin(job, trigger, out var busyWith);
        return started is null ? new RunRequestResult(null, busyWith) : new RunRequestResult(runner.Execute(started), null);
    }

    /// <summary>
    /// Takes the named job's lock and records the run as running; null (and who holds the lock) when
    /// another run has it. The caller then runs it with <see cref="JobRunner.Execute"/>, possibly on another thread.
    /// </summary>
    public static StartedRun? TryBegin(this JobRunner runner, string job, string trigger, out string? busyWith, Func<Jobs.IRunRows, bool>? stillDue = null) =>
        runner.TryBegin(Find(runner.Config, job) ?? throw new ArgumentException($"unknown job '{job}'; jobs: {Names(runner.Config)}"),
            trigger, "all", out busyWith, stillDue);

    public static string Names(EnvironmentConfig config) => string.Join(", ", All(config).Select(j => j.Name));

    private static MartBatch Batch(JobContext c) => new(MartStore.For(c), c.Engine, c.Events);

    private static IReadOnlyList<StepOutcome> Refresh(JobContext c)
    {
        var steps = Batch(c).Run(c.RunId).ToList();
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
