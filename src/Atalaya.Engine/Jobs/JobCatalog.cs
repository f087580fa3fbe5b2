using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs.Marts;

namespace Atalaya.Engine.Jobs;

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
