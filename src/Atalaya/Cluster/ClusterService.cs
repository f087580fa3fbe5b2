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
        try
        {
            await cluster.RunAsync(hub.Log.Stores, hub.Kpis, hub.Recommendations, StoresEvery, message => logger.LogInformation("Cluster: {Message}", message), stoppingToken);
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
