using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;

namespace Atalaya.Engine.Connectors;

/// <summary>
/// The connectors as jobs: one per configured provider (<c>connector_ga4</c>, …), scheduled D+1 by
/// <c>connectors.PROVIDER.schedule</c>, each with its own lock so that a slow provider never holds
/// up the marts. A run fetches yesterday (UTC); the CLI and replays run the same way with a range
/// or the dead letters. The run's error class is written on its pipeline_runs row, wherever the hub records its runs
/// (the data folder, or the cluster's PostgreSQL), and its pages and dead letters beside its facts.
/// </summary>
public static class ConnectorJobs
{
    public static IEnumerable<JobDefinition> Definitions(EnvironmentConfig config) =>
        config.Connectors.Configured().Select(c => Definition(c.Provider, context => Yesterday(context, c.Provider)));

    /// <summary>A job that runs <paramref name="provider"/> through <paramref name="request"/> (the scheduled one asks for yesterday).</summary>
    public static JobDefinition Definition(string provider, Func<JobContext, ConnectorRequest> request) =>
        Definition(provider, $"D+1: fetches yesterday (UTC) from {provider} into fact_kpi_daily; failed days are dead-lettered.",
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

    private static ConnectorRequest Yesterday(JobContext context, string provider)
    {
        var yesterday = DateOnly.FromDateTime(context.Time.GetUtcNow().UtcDateTime).AddDays(-1);
        return new ConnectorRequest(provider, yesterday, yesterday);
    }
}
