using Atalaya.Tests.ClickHouse;
using Atalaya.Tests.Queue;

namespace Atalaya.Tests.Cluster;

/// <summary>The two servers a cluster's ingest needs, real, on 127.0.0.1: ClickHouse (shared) and a RabbitMQ node of this class's own.</summary>
public sealed class ClusterServers : IAsyncLifetime
{
    public ClickHouseServer ClickHouse { get; } = new();

    public RabbitBroker Rabbit { get; } = new();

    public async Task InitializeAsync() => await Task.WhenAll(ClickHouse.InitializeAsync(), Rabbit.InitializeAsync());

    public async Task DisposeAsync()
    {
        await ClickHouse.DisposeAsync();
        await Rabbit.DisposeAsync();
    }
}
