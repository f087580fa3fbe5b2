using Atalaya.Engine.Cluster;
using Atalaya.Tests.Access;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Support;
using Xunit.Abstractions;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// The access rules' property (<see cref="ScopeRandomizedTestsBase"/>: 1,200 generated token and
/// request pairs over every GET endpoint, judged against the reference over the visible data only)
/// asked of a cluster node instead of the embedded hub: the same scope checks, audit and KPI code
/// above the node's projection, so the same answers.
/// </summary>
public sealed class ClusterScopeTests(ClusterAccessHubFixture hub, ITestOutputHelper output) : ScopeRandomizedTestsBase(hub, output), IClassFixture<ClusterAccessHubFixture>;

/// <summary>
/// The access fixture's marketplace moved into a cluster of its own with <c>migrate --to-cluster</c>,
/// answered by a node (in process, on the fixture's clock) that loaded it from ClickHouse; the
/// callers' tokens live on that node.
/// </summary>
public sealed class ClusterAccessHubFixture : AccessHubFixture
{
    private readonly ClusterServers _servers = new();
    private TestHub? _node;

    protected override async Task<TestHub> ServeAsync(KpiHub embedded)
    {
        await _servers.InitializeAsync();
        var clickHouse = await _servers.ClickHouse.NewDatabaseAsync();
        var url = new Uri(_servers.ClickHouse.Url, clickHouse.Database).ToString();
        var prefix = "scope." + Guid.NewGuid().ToString("N");
        var stored = StoredEvents.All(embedded.Server.DataDirectory).Count;

        // A writer node takes the migrated events into ClickHouse; the node asked starts afterwards and loads them.
        var writer = ClusterNode.Create(url, _servers.Rabbit.Uri.ToString(), 4, prefix);
        await using (var writing = await TestHub.StartAsync(o => o with { Cluster = writer, RunScheduler = false, RunAlerts = false, Time = Clock }))
        {
            await Wait.UntilAsync(() => writer.Running, "the writer consumes", seconds: 120);
            try
            {
                await new ClusterMigration().RunAsync(embedded.Server.DataDirectory, writer, null, CancellationToken.None);
            }
            finally
            {
                File.Delete(Path.Combine(embedded.Server.DataDirectory, ClusterMigration.CheckpointFile));
            }
            await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == stored,
                $"ClickHouse holds the {stored} stored events", seconds: 120);
        }
        var answering = ClusterNode.Create(url, _servers.Rabbit.Uri.ToString(), 4, prefix, ClusterRole.Answer);
        _node = await TestHub.StartAsync(o => o with { Cluster = answering, RunScheduler = false, RunAlerts = false, Time = Clock });
        await Wait.UntilAsync(() => answering.Answering, "the node loaded the marketplace from ClickHouse", seconds: 120);
        Assert.Equal(stored, answering.ProjectionApplied);
        return _node;
    }

    public override async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
        await base.DisposeAsync();
        await _servers.DisposeAsync();
    }
}
