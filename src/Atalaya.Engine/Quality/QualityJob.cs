using Atalaya.Engine.Catalog;
using Atalaya.Engine.Jobs;

namespace Atalaya.Engine.Quality;

/// <summary>
/// The <c>dq_health</c> job: the profile pass over the events stored since the last run (on a
/// cluster node, those ClickHouse holds), then every check, whose findings are kept in
/// <c>dq_results</c> under the run's id. Failing checks do not fail the run: the run says whether
/// the checking worked, the findings say what it found. On a node started with <c>--postgres</c>
/// the findings are kept in the cluster's PostgreSQL (<see cref="IQualityRows"/>) and the checks
/// read every node's runs there.
/// </summary>
internal static class QualityJob
{
    public const string Name = "dq_health";

    /// <summary>Runs the profile and the checks; <paramref name="jobs"/> are the hub's jobs, whose last runs the pipeline check judges.</summary>
    public static IReadOnlyList<StepOutcome> Run(JobContext c, IReadOnlyList<JobDefinition> jobs)
    {
        var steps = new List<StepOutcome>();
        try
        {
            // The events are where the marts read them: the data folder's log, or a cluster's ClickHouse.
            var (events, rows) = new QualityProfile(c.Database, EventCatalog.Default, c.Events).Run();
            steps.Add(new StepOutcome("profile", true, rows, null, null, null) { Events = events });
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or System.Text.Json.JsonException or IOException or InvalidDataException
            or ClickHouse.ClickHouseException or ClickHouse.ClickHouseUnavailableException)
        {
            // The checks still run on the counters as they were: stale counters beat no findings.
            steps.Add(new StepOutcome("profile", false, 0, null, null, e.Message));
        }
        var results = new QualityChecks(c.Database, EventCatalog.Default, c.Config, jobs, c.Time, c.Engine) { Runs = c.Runs, Shared = c.Shared, Events = c.Events, Marts = MartStore.For(c) }.Run();
        // On a node with --postgres the findings go to the cluster's PostgreSQL, read by every node;
        // while it is away the step fails (the run is recorded there too, so it fails as a whole and the scheduler retries).
        QualityRows.For(c.Database, c.Shared).Save(c.RunId, c.Time.GetUtcNow(), results);
        var fail = results.Count(r => r.Status == QualityStatus.Fail);
        var warn = results.Count(r => r.Status == QualityStatus.Warn);
        steps.Add(new StepOutcome("checks", true, results.Count, null, null, null)
        {
            Note = $"{results.Count} findings: {fail} fail, {warn} warn, {results.Count(r => r.Status == QualityStatus.Ok)} ok, {results.Count(r => r.Status == QualityStatus.Skipped)} skipped",
        });
        return steps;
    }
}
