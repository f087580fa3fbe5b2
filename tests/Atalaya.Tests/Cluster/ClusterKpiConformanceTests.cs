using Atalaya.Engine.Access;
using Atalaya.Engine.Cluster;
using Atalaya.Tests.Kpi;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// The KPI conformance matrix (<see cref="KpiQueryConformanceTests"/>: every KPI × aggregate ×
/// group_by × filters × zone, against the plain reference) run on the cluster backend: each
/// conformance dataset's data folder is moved to a cluster of its own with
/// <c>migrate --to-cluster</c> while a node follows the written events live, then a second node
/// starts and loads them from ClickHouse; every answer of both must equal the same reference the
/// embedded hub is held to (ties included: the ledger's two stock snapshots at one instant).
/// </summary>
[Collection(KpiCollection.Name)]
public sealed class ClusterKpiConformanceTests(KpiDatasets datasets, ClusterServers servers) : IClassFixture<ClusterServers>, IAsyncLifetime
{
    // The datasets with events (the empty and one-event hubs add nothing a cluster could get wrong).
    private static readonly string[] Datasets = ["demo-a", "demo-b", "edge", "ledger"];

    // Per dataset: the node that followed the migrated events live, and one started after them that loaded them from ClickHouse.
    private readonly Dictionary<string, (MetricsClient Live, MetricsClient Loaded)> _apis = new(StringComparer.Ordinal);
    private readonly List<TestHub> _nodes = [];

    public async Task InitializeAsync()
    {
        foreach (var name in Datasets)
        {
            var dataset = datasets[name];
            var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
            var url = new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString();
            var prefix = "conformance." + Guid.NewGuid().ToString("N");
            var stored = StoredEvents.All(dataset.Hub.Server.DataDirectory).Count;

            var (live, liveApi) = await StartNodeAsync(url, prefix);
            await Wait.UntilAsync(() => live.Answering, "the node loaded its (empty) projection", seconds: 120);
            // The embedded folder's stored events, as they are, through the queue and the node's writer.
            var source = dataset.Hub.Server.DataDirectory;
            try
            {
                await new ClusterMigration().RunAsync(source, live, null, CancellationToken.None);
            }
            finally
            {
                File.Delete(Path.Combine(source, ClusterMigration.CheckpointFile));
            }
            await Wait.UntilAsync(() => live.ProjectionApplied >= stored, $"the live node's projection holds the {stored} events of {name}", seconds: 120);

            var (loaded, loadedApi) = await StartNodeAsync(url, prefix);
            await Wait.UntilAsync(() => loaded.Answering, $"the second node loaded {name} from ClickHouse", seconds: 120);
            Assert.Equal(stored, live.ProjectionApplied);
            Assert.Equal(stored, loaded.ProjectionApplied);
            _apis[name] = (liveApi, loadedApi);
        }
    }

    private async Task<(ClusterNode Cluster, MetricsClient Api)> StartNodeAsync(string clickHouseUrl, string queuePrefix)
    {
        var cluster = ClusterNode.Create(clickHouseUrl, servers.Rabbit.Uri.ToString(), 4, queuePrefix);
        var node = await TestHub.StartAsync(o => o with { Cluster = cluster, RunScheduler = false, RunAlerts = false });
        _nodes.Add(node);
        var admin = node.Hub.Tokens.Create(new TokenRequest(Role.Admin, "cluster-conformance")).Secret;
        return (cluster, new MetricsClient(node.Client, admin));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>
    /// The nodes held to the reference for a dataset. The node that loaded from ClickHouse, always.
    /// The node that followed live, on the generated marketplaces only: it applies events in the
    /// order the shards' writers publish them (held a second to reorder, docs/scale-out.md), and the
    /// edge and ledger datasets' ties that only arrival order decides (two stock snapshots of one
    /// product at one instant in one request, a store re-created in a later request) can cross in
    /// that second on a loaded machine. A restarted node orders them as the embedded hub does.
    /// </summary>
    private IEnumerable<(string Node, MetricsClient Api)> Nodes(string dataset)
    {
        yield return ("loaded from ClickHouse", _apis[dataset].Loaded);
        if (dataset.StartsWith("demo-", StringComparison.Ordinal))
        {
            yield return ("followed live", _apis[dataset].Live);
        }
    }

    public static TheoryData<string, string, string> Combinations()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (dataset, tz) in KpiDatasets.Zones.Where(z => Datasets.Contains(z.Dataset)))
        {
            foreach (var aggregate in KpiQueryConformanceTests.Aggregates)
            {
                data.Add(dataset, aggregate, tz);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Every_kpi_answer_of_a_cluster_node_equals_the_reference(string dataset, string aggregate, string tz)
    {
        var d = datasets[dataset];
        var failures = new List<string>();
        var queries = 0;
        foreach (var (node, api) in Nodes(dataset))
        {
            foreach (var query in d.Queries(aggregate, tz))
            {
                var answer = await api.QueryAsync(query);
                var differences = KpiComparison.Differences(KpiReference.Query(d.Hub.Reference, query), answer, query);
                if (differences.Count > 0)
                {
                    failures.Add(KpiComparison.Describe($"[{dataset} on a cluster node that {node}] {query}", differences));
                }
                queries++;
            }
        }

        Assert.True(queries > 0, "no query ran");
        Assert.True(failures.Count == 0, $"{failures.Count} of {queries} queries differ from the reference:\n" + string.Join("\n", failures.Take(25)));
    }
}
