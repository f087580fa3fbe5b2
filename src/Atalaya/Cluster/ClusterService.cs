using Atalaya.Http;

namespace Atalaya.Cluster;

/// <summary>
/// On a cluster node (<c>serve --clickhouse URL --rabbitmq URI</c>, docs/scale-out.md): once the hub
/// is open, creates the ClickHouse tables, loads the stores, runs this node's writer and loads and
/// follows its KPI projection, retrying while a server is away, until shutdown.
/// </summary>
public sealed class ClusterService(HubState state, ILogger<ClusterService> logger) : BackgroundService
{
    /// <summary>A store created through another node enriches this node's orders after at most this long.</summary>
    public static readonly TimeSpan StoresEvery = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hub = await state.OpenedAsync(stoppingToken);
        if (hub.Cluster is not { } cluster)
        {
            return;
        }
        logger.LogInformation("Cluster node: {Cluster}", cluster.Describe);
        var resuming = hub.ClusterErasure is { } erasure ? ResumeErasuresAsync(cluster, erasure, stoppingToken) : Task.CompletedTask;
        try
        {
            await cluster.RunAsync(hub.Log.Stores, hub.Kpis, hub.Recommendations, StoresEvery, message => logger.LogInformation("Cluster: {Message}", message), stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        await resuming.ConfigureAwait(false);
    }

    /// <summary>
    /// Once the node runs (its projection loaded and following the feed, so it hears its own re-keying), finishes the erasures
    /// a crash left pending in PostgreSQL, retrying while a server is away (docs/privacy.md).
    /// </summary>
    private async Task ResumeErasuresAsync(Engine.Cluster.ClusterNode cluster, Engine.Privacy.ClusterErasure erasure, CancellationToken ct)
    {
        try
        {
            // An answering node first loads its projection: an erasure rewriting rows while it loads
            // would make it load again (docs/scale-out.md).
            while (!(cluster.Answers ? cluster.Answering : cluster.Running))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
            while (true)
            {
                try
                {
                    if (await erasure.ResumePendingAsync(ct) is var finished and > 0)
                    {
                        logger.LogInformation("Cluster: finished {Count} erasure(s) left pending", finished);
                    }
                    return;
                }
                catch (Engine.Postgres.StateUnavailableException e)
                {
                    logger.LogWarning("Cluster: finishing the pending erasures: {Reason}; retrying in 5 s", e.Message);
                    await Task.Delay(TimeSpan.FromSeconds(5), ct);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (state.Current?.Cluster is { } cluster)
        {
            // The writer stops consuming (its unacknowledged messages go back to the queue for
            // another node) and the publisher closes; requests still running get 503.
            await cluster.DisposeAsync();
        }
    }
}
