using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// <c>atalaya migrate --to-cluster</c>: an embedded folder's events reach ClickHouse through the
/// cluster's queue, each once, and a migration cut off half-way goes on from its checkpoint.
/// </summary>
public sealed class ClusterMigrationTests(ClusterServers servers) : IClassFixture<ClusterServers>, IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "atalaya-migrate-" + Guid.NewGuid().ToString("N"));
    private List<string> _ids = [];

    public async Task InitializeAsync()
    {
        using var ndjson = new MemoryStream();
        DemoGenerator.WriteNdjson(new DemoOptions(Days: 3, Seed: 31, EndDate: ClusterData.LastDay, SessionsPerDay: 150), ndjson);
        _ids = [.. Encoding.UTF8.GetString(ndjson.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event_id").GetString()!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        // Requests of 200 events, one after the other: the log holds many blocks, as a live hub's does.
        await using var hub = Hub.Open(_directory);
        var lines = Encoding.UTF8.GetString(ndjson.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var accepted = 0;
        foreach (var chunk in lines.Chunk(200))
        {
            accepted += (await hub.Pipeline.IngestNativeAsync(Encoding.UTF8.GetBytes(string.Join('\n', chunk)), ndjson: true, "demo")).Accepted;
        }
        Assert.Equal(_ids.Count, accepted);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_migration_cut_off_half_way_resumes_from_its_checkpoint_and_every_event_arrives_once()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        await using var node = ClusterNode.Create(new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString(), servers.Rabbit.Uri.ToString(), shards: 3);
        await EventsSchema.EnsureAsync(clickHouse, CancellationToken.None);
        var migration = new ClusterMigration { RoundEvents = 500 };
        Assert.Equal(_ids.Count, ClusterMigration.Remaining(_directory, node));
        Assert.True(_ids.Count > 3 * migration.RoundEvents, $"{_ids.Count} events make several rounds");

        using var cut = new CancellationTokenSource();
        long firstRun = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => migration.RunAsync(_directory, node, n =>
        {
            firstRun = n;
            cut.Cancel(); // after the first round's checkpoint

        }, cut.Token));
        var left = ClusterMigration.Remaining(_directory, node);
        Assert.InRange(left, 1, _ids.Count - firstRun);

        var secondRun = await migration.RunAsync(_directory, node, null, CancellationToken.None);
        Assert.Equal(left, secondRun);
        Assert.Equal(0, ClusterMigration.Remaining(_directory, node));

        await using var writer = await ClusterWriter.StartAsync(node.Queue, clickHouse);
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) >= _ids.Count, $"{_ids.Count} events in ClickHouse", seconds: 120);
        var stored = new List<string>();
        await foreach (var row in clickHouse.QueryAsync("SELECT event_id FROM events ORDER BY event_id", CancellationToken.None))
        {
            stored.Add(row[0]!);
        }
        Assert.Equal(_ids, stored);
    }

    [Fact]
    public async Task The_cli_refuses_a_folder_without_a_hub_and_names_the_fix()
    {
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("migrate", "--to-cluster", "--data", Path.Combine(_directory, "nothing"),
            "--clickhouse", servers.ClickHouse.Url.ToString(), "--rabbitmq", servers.Rabbit.Uri.ToString());
        Assert.Equal(2, exit);
        Assert.Contains("--data", stderr, StringComparison.Ordinal);
    }
}
