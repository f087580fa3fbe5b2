using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Queue;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// The cluster's ingest path end to end on real servers: the collector's pipeline publishes to
/// RabbitMQ with confirms (<see cref="QueueEventSink"/>), a writer inserts into ClickHouse
/// (<see cref="ClusterWriter"/>), and what ClickHouse holds is what the embedded hub stores from
/// the same requests: every accepted event once, whatever was sent twice.
/// </summary>
public sealed class ClusterIngestTests(ClusterServers servers) : IClassFixture<ClusterServers>, IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "atalaya-cluster-" + Guid.NewGuid().ToString("N"));
    private Hub _embedded = null!;

    public Task InitializeAsync()
    {
        _embedded = Hub.Open(_directory);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _embedded.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Requests_sent_twice_reach_ClickHouse_once_each_and_match_what_the_embedded_hub_stores()
    {
        var clickHouse = await TablesAsync();
        var queue = servers.Rabbit.Options(shards: 3);
        await using var publisher = new EventPublisher(queue);
        var collector = Collector(publisher, clickHouse);
        await using var writer = await ClusterWriter.StartAsync(queue, clickHouse);

        var requests = ClusterData.DemoRequests(new DemoOptions(Days: 3, Seed: 5, EndDate: ClusterData.LastDay, SessionsPerDay: 60), linesPerRequest: 250);
        long clusterAccepted = 0, embeddedAccepted = 0;
        foreach (var request in requests)
        {
            clusterAccepted += (await collector.IngestNativeAsync(request, ndjson: true, "demo-web")).Accepted;
            embeddedAccepted += (await _embedded.Pipeline.IngestNativeAsync(request, ndjson: true, "demo-web")).Accepted;
        }
        // Retries: the first requests again (the writer may or may not have inserted them yet, so
        // some are answered as duplicates and the rest published a second time).
        var published = clusterAccepted;
        foreach (var request in requests.Take(3))
        {
            var again = await collector.IngestNativeAsync(request, ndjson: true, "demo-web");
            Assert.Empty(again.Rejected);
            published += again.Accepted;
        }

        var ids = requests.SelectMany(r => ClusterData.EventIds(r)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ids.Count, embeddedAccepted);
        Assert.Equal(ids.Count, clusterAccepted);
        // Every published event handled by the writer: inserted, or found already there.
        await Wait.UntilAsync(() => writer.Inserted + writer.Duplicates == published, $"{published} published events written", seconds: 120);
        Assert.Equal(0, await QueueDepthAsync(queue));
        Assert.Equal(ids.Count, writer.Inserted);
        Assert.Equal(ids.Count, await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None));
        Assert.Equal(ids, await ClusterData.ColumnAsync(clickHouse, "SELECT event_id FROM events ORDER BY event_id"));
        Assert.Equal(ids, await ClusterData.ColumnAsync(clickHouse, "SELECT event_id FROM event_ids ORDER BY event_id"));
        Assert.Equal(_embedded.Log.EventCount, ids.Count);
    }

    [Fact]
    public async Task A_request_whose_events_ClickHouse_holds_is_answered_as_duplicates_on_any_node()
    {
        var clickHouse = await TablesAsync();
        var queue = servers.Rabbit.Options(shards: 2);
        await using var publisherA = new EventPublisher(queue);
        await using var publisherB = new EventPublisher(queue);
        var nodeA = Collector(publisherA, clickHouse);
        var nodeB = Collector(publisherB, clickHouse);
        await using var writer = await ClusterWriter.StartAsync(queue, clickHouse);

        var request = ClusterData.DemoRequests(new DemoOptions(Days: 1, Seed: 9, EndDate: ClusterData.LastDay, SessionsPerDay: 20), linesPerRequest: 100)[0];
        var first = await nodeA.IngestNativeAsync(request, ndjson: true, "demo-web");
        Assert.Equal(100, first.Accepted);
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM event_ids", CancellationToken.None) == 100, "the first copy inserted");

        var retry = await nodeB.IngestNativeAsync(request, ndjson: true, "demo-web");
        Assert.Equal(0, retry.Accepted);
        Assert.Equal(100, retry.Duplicates);
        Assert.Equal(100, await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None));
    }

    [Fact]
    public async Task While_RabbitMQ_is_down_collectors_refuse_with_store_unavailable_and_every_acknowledged_event_arrives()
    {
        var clickHouse = await TablesAsync();
        var queue = servers.Rabbit.Options(shards: 2);
        await using var publisher = new EventPublisher(queue);
        var collector = Collector(publisher, clickHouse);
        var requests = ClusterData.DemoRequests(new DemoOptions(Days: 1, Seed: 13, EndDate: ClusterData.LastDay, SessionsPerDay: 40), linesPerRequest: 50);
        var acknowledged = new List<string>();
        acknowledged.AddRange(await AcceptedIdsAsync(collector, requests[0]));

        await servers.Rabbit.PauseAsync();
        try
        {
            await Assert.ThrowsAsync<StoreUnavailableException>(() => collector.IngestNativeAsync(requests[1], ndjson: true, "demo-web"));
        }
        finally
        {
            await servers.Rabbit.ResumeAsync();
        }
        // The same publisher recovers by itself; the client's retry of the refused request is accepted.
        await Wait.UntilAsync(async () =>
        {
            try
            {
                acknowledged.AddRange(await AcceptedIdsAsync(collector, requests[1]));
                return true;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }, "publishing again after the broker returned");
        await using var writer = await ClusterWriter.StartAsync(queue, clickHouse);
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == acknowledged.Count,
            $"{acknowledged.Count} acknowledged events in ClickHouse");
        Assert.Equal(acknowledged.Order(StringComparer.Ordinal), await ClusterData.ColumnAsync(clickHouse, "SELECT event_id FROM events ORDER BY event_id"));
    }

    [Fact]
    public async Task While_ClickHouse_is_unreachable_the_writer_holds_its_messages_and_catches_up_without_dead_letters()
    {
        var clickHouse = await TablesAsync();
        await using var gate = new TcpGate(servers.ClickHouse.Url.Port);
        // The writer and the collector reach ClickHouse through the gate; the test reads it directly.
        using var gated = new ClickHouseClient(new ClickHouseSettings(new Uri($"http://127.0.0.1:{gate.Port}/"), clickHouse.Database) { Timeout = TimeSpan.FromSeconds(5) });
        var queue = servers.Rabbit.Options(shards: 2) with { MaxDeliveries = 2 };
        await using var publisher = new EventPublisher(queue);
        var collector = Collector(publisher, gated);
        await using var writer = await ClusterWriter.StartAsync(queue, gated);
        var requests = ClusterData.DemoRequests(new DemoOptions(Days: 1, Seed: 21, EndDate: ClusterData.LastDay, SessionsPerDay: 40), linesPerRequest: 80);
        var acknowledged = new List<string>(await AcceptedIdsAsync(collector, requests[0]));
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == acknowledged.Count, "the first request written");

        await gate.CloseAsync();
        // Collectors depend on RabbitMQ alone: they go on accepting while ClickHouse is away.
        foreach (var request in requests.Skip(1))
        {
            acknowledged.AddRange(await AcceptedIdsAsync(collector, request));
        }
        await Wait.UntilAsync(() => writer.Waits >= 3, "the writer retrying while ClickHouse is unreachable");
        Assert.True(await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) < acknowledged.Count);

        gate.Open();
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == acknowledged.Count,
            $"{acknowledged.Count} acknowledged events in ClickHouse after it came back");
        Assert.Equal(acknowledged.Order(StringComparer.Ordinal), await ClusterData.ColumnAsync(clickHouse, "SELECT event_id FROM events ORDER BY event_id"));
        // Nothing was given up on: more failed attempts than MaxDeliveries, and the dead-letter queue is empty.
        await using var probe = await servers.Rabbit.ProbeAsync();
        Assert.Equal(0u, await probe.ReadyAsync(new EventQueueTopology(queue).DeadLetterQueue));
    }

    [Fact]
    public async Task Refused_events_are_answered_and_quarantined_on_the_node_while_the_rest_of_the_request_is_published()
    {
        var clickHouse = await TablesAsync();
        var queue = servers.Rabbit.Options(shards: 2);
        await using var publisher = new EventPublisher(queue);
        var collector = Collector(publisher, clickHouse);
        await using var writer = await ClusterWriter.StartAsync(queue, clickHouse);
        var valid = ClusterData.DemoRequests(new DemoOptions(Days: 1, Seed: 3, EndDate: ClusterData.LastDay, SessionsPerDay: 10), linesPerRequest: 20)[0];
        var body = Encoding.UTF8.GetBytes("{\"event_id\":\"refused-1\",\"event_type\":\"page_view\"}\n" + Encoding.UTF8.GetString(valid));

        var result = await collector.IngestNativeAsync(body, ndjson: true, "demo-web");
        Assert.Equal(20, result.Accepted);
        var refused = Assert.Single(result.Rejected);
        Assert.Equal("refused-1", refused.EventId);
        using (var connection = _embedded.Database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT count(*) FROM failed_events WHERE event_id = 'refused-1'";
            Assert.Equal(1L, (long)command.ExecuteScalar()!);
        }
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == 20, "the 20 accepted events in ClickHouse");
        Assert.Equal(0, await clickHouse.ScalarInt64Async("SELECT count() FROM events WHERE event_id = 'refused-1'", CancellationToken.None));
    }

    [Fact]
    public async Task A_node_learns_the_stores_created_through_another_node_from_ClickHouse()
    {
        var clickHouse = await TablesAsync();
        var queue = servers.Rabbit.Options(shards: 2);
        await using var publisher = new EventPublisher(queue);
        await using var writer = await ClusterWriter.StartAsync(queue, clickHouse);
        var store = Events.Valid("store_created");
        store["properties"]!["store_id"] = "st-cluster-1";
        store["properties"]!["country"] = "CO";
        store["properties"]!["hub"] = "bogota";
        var result = await Collector(publisher, clickHouse).IngestNativeAsync(Encoding.UTF8.GetBytes(store.ToJsonString()), ndjson: false, "admin");
        Assert.Equal(1, result.Accepted);
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == 1, "the store in ClickHouse");

        var otherNode = new StoreDirectory();
        Assert.Equal(1, await ClusterStores.LoadAsync(clickHouse, otherNode, CancellationToken.None));
        Assert.True(otherNode.TryGet("st-cluster-1", out var loaded));
        Assert.Equal(("CO", "bogota"), (loaded.Country, loaded.Hub));
    }

    /// <summary>A fresh ClickHouse database with the events tables.</summary>
    private async Task<ClickHouseClient> TablesAsync()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(clickHouse, CancellationToken.None);
        return clickHouse;
    }

    /// <summary>A cluster node's collector: the ingest pipeline publishing through <paramref name="publisher"/>, quarantining in the test's local hub.</summary>
    private IngestPipeline Collector(EventPublisher publisher, ClickHouseClient clickHouse) =>
        new(new QueueEventSink(publisher, clickHouse, _embedded.Log), Engine.Catalog.EventCatalog.Default, _embedded.Fx, new IngestOptions());

    private static async Task<List<string>> AcceptedIdsAsync(IngestPipeline collector, ReadOnlyMemory<byte> request)
    {
        var result = await collector.IngestNativeAsync(request, ndjson: true, "demo-web");
        Assert.Empty(result.Rejected);
        Assert.Equal(0, result.Duplicates);
        return [.. ClusterData.EventIds(request)];
    }

    private async Task<long> QueueDepthAsync(EventQueueOptions queue)
    {
        await using var probe = await servers.Rabbit.ProbeAsync();
        long depth = 0;
        for (var shard = 0; shard < queue.Shards; shard++)
        {
            depth += await probe.ReadyAsync(new EventQueueTopology(queue).ShardQueue(shard));
        }
        return depth;
    }
}
