using Atalaya.Engine.Config;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Jobs;

namespace Atalaya.Engine.Quality;

/// <summary>
/// The connectors' findings (seed 002: "connector misslyckas två dagar i rad"; seed 004: a dead
/// letter raises an alert): a connector whose last two scheduled runs, on two different days,
/// both failed; and the dead letters still open, by kind and provider. They stand in for alerts
/// until the alert engine reads them. The runs are read through the hub's run rows (on a cluster
/// with PostgreSQL, every node's runs), and so are the dead letters (there, every node's).
/// </summary>
internal static class ConnectorHealth
{
    public static IEnumerable<QualityResult> Check(IConnectorRows connectors, IRunRows runs, EnvironmentConfig config)
    {
        foreach (var (provider, _) in config.Connectors.Configured())
        {
            var job = ConnectorSources.JobName(provider);
            var scheduled = runs.Query(new RunFilter(Job: job, Limit: 50))
                .Where(r => r.Trigger is "schedule" or "catch-up" && r.Status != RunStatus.Running)
                .DistinctBy(r => DateOnly.FromDateTime(r.StartTime.UtcDateTime))
                .Take(2).ToList();
            if (scheduled.Count == 0)
            {
                yield return new QualityResult("connector", provider, QualityStatus.Skipped, null, 1, 2, "failed days",
                    $"{job} has not run on its schedule yet.");
                continue;
            }
            var failing = scheduled.TakeWhile(r => r.Status == RunStatus.Failed).Count();
            var status = failing >= 2 ? QualityStatus.Fail : failing == 1 ? QualityStatus.Warn : QualityStatus.Ok;
            var last = scheduled[0];
            yield return new QualityResult("connector", provider, status, failing, 1, 2, "failed days",
                failing == 0 ? $"Last scheduled run {last.RunId}: {PipelineRuns.StatusName(last.Status)}."
                : $"{job} failed on its last {failing} scheduled day(s), latest {last.RunId}: {last.ErrorMessage} "
                  + "See `atalaya connectors dead-letters` and docs/connectors.md (recovery per error class).");
        }
        var open = connectors.DeadLetters();
        foreach (var group in open.GroupBy(l => (l.Kind, l.Provider)).OrderBy(g => g.Key.Kind, StringComparer.Ordinal).ThenBy(g => g.Key.Provider, StringComparer.Ordinal))
        {
            var onlyTransient = group.All(l => l.ErrorClass == "transient");
            var classes = string.Join(", ", group.Select(l => l.ErrorClass).Distinct().Order(StringComparer.Ordinal));
            var oldest = group.Min(l => l.CreatedAt);
            var command = group.Key.Kind == "webhook" ? "atalaya webhooks replay" : $"atalaya connectors replay {group.Key.Provider}";
            yield return new QualityResult("dead_letters", $"{group.Key.Kind}:{group.Key.Provider}", onlyTransient ? QualityStatus.Warn : QualityStatus.Fail,
                group.Count(), 1, 1, "open", $"{group.Count()} open dead letter(s) ({classes}) since {PipelineRuns.Iso(oldest)}: {group.First().Reason} — fix the cause, then `{command}`.");
        }
    }
}
