using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;

namespace Atalaya.Engine.Connectors;

/// <summary>
/// The connectors as jobs: one per configured provider (<c>connector_ga4</c>, …), scheduled D+1 by
/// <c>connectors.PROVIDER.schedule</c>, each with its own lock so that a slow provider never holds
/// up the marts. A scheduled run fetches yesterday (UTC), and the days before it that no recorded
/// scheduled run covered (see <see cref="Scheduled"/>); the CLI and replays run the same way with a
/// range or the dead letters. The run's error class is written on its pipeline_runs row, wherever the hub records its runs
/// (the data folder, or the cluster's PostgreSQL), and its pages and dead letters beside its facts.
/// </summary>
public static class ConnectorJobs
{
    public static IEnumerable<JobDefinition> Definitions(EnvironmentConfig config) =>
        config.Connectors.Configured().Select(c => Definition(c.Provider, context => Scheduled(context, c.Provider)));

    /// <summary>At most this many days before yesterday a scheduled run catches up; older gaps need <c>atalaya connectors run --start</c>.</summary>
    public const int MaxCatchUpDays = 7;

    /// <summary>A job that runs <paramref name="provider"/> through <paramref name="request"/> (the scheduled one asks for yesterday).</summary>
    public static JobDefinition Definition(string provider, Func<JobContext, ConnectorRequest> request) =>
        Definition(provider, $"D+1: fetches yesterday (UTC), and days missed since the last scheduled run, from {provider} into fact_kpi_daily; failed days are dead-lettered.",
            (runner, c) => runner.RunAsync(request(c), c.RunId));

    /// <summary>A job that replays the open dead letters of <paramref name="provider"/> (one of them when <paramref name="id"/> is set).</summary>
    public static JobDefinition Replay(string provider, long? id) =>
        Definition(provider, $"Replays the open dead letters of {provider}.", (runner, c) => runner.ReplayAsync(provider, id, c.RunId)) with { Scheduled = false };

    private static JobDefinition Definition(string provider, string description, Func<ConnectorRunner, JobContext, Task<ConnectorOutcome>> run) =>
        new(ConnectorSources.JobName(provider), description, $"connectors.{provider}.schedule", ConnectorSources.JobName(provider), c =>
        {
            var runner = new ConnectorRunner(ConnectorRows.For(c), MartStore.For(c), c.Config, c.Engine.Dictionary, c.Time);
            // Jobs are synchronous steps run on the scheduler's or the CLI's own thread; nothing else waits on it.
            var outcome = run(runner, c).GetAwaiter().GetResult();
            c.Runs.SetErrorClass(c.RunId, outcome.ErrorClass is { } errorClass ? ErrorClasses.Name(errorClass) : null);
            return outcome.Steps;
        });

    /// <summary>
    /// Yesterday, and the days since the last day a scheduled run recorded (at most
    /// <see cref="MaxCatchUpDays"/> before yesterday). A day a run recorded is written or
    /// dead-lettered; a day no recorded run covered (the hub was down at the scheduled time, or the
    /// run was cut short before it could record its units: the shared state went away, the process
    /// was killed) would otherwise never be fetched, since the next run asks only for its own yesterday.
    /// </summary>
    internal static ConnectorRequest Scheduled(JobContext context, string provider)
    {
        var yesterday = DateOnly.FromDateTime(context.Time.GetUtcNow().UtcDateTime).AddDays(-1);
        var covered = context.Runs.Query(new RunFilter(Job: ConnectorSources.JobName(provider), Limit: 50))
            .Where(r => r.Trigger is "schedule" or "catch-up" && r.Status != RunStatus.Running && r.RunId != context.RunId)
            .Select(LastDay).Max();
        var from = covered is { } last && last < yesterday ? last.AddDays(1) : yesterday;
        return new ConnectorRequest(provider, from < yesterday.AddDays(-MaxCatchUpDays) ? yesterday.AddDays(-MaxCatchUpDays) : from, yesterday);
    }

    /// <summary>The last day a run's recorded units covered (its steps' <c>to</c>), or null when it recorded none.</summary>
    private static DateOnly? LastDay(PipelineRun run)
    {
        using var details = System.Text.Json.JsonDocument.Parse(run.Details);
        DateOnly? last = null;
        if (details.RootElement.TryGetProperty("steps", out var steps))
        {
            foreach (var step in steps.EnumerateArray())
            {
                if (step.TryGetProperty("to", out var to) && to.GetString() is { } text && (last is null || ConnectorStore.ParseDay(text) > last))
                {
                    last = ConnectorStore.ParseDay(text);
                }
            }
        }
        return last;
    }
}
