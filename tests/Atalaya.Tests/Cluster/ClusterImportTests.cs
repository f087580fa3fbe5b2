using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine.ClickHouse;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// <c>atalaya import FILE --clickhouse URL --rabbitmq URI</c> on real servers: the file's events go
/// through the collector's validation into the cluster's queue, a serve node's writer inserts them
/// into ClickHouse once each, an event that names only its store gets the store's dimensions from
/// ClickHouse (a store another import created), importing the same file again adds nothing, and a
/// broker that cannot be reached stops the command with exit code 2 and how to go on.
/// </summary>
public sealed class ClusterImportTests(ClusterServers cluster) : IClassFixture<ClusterServers>, IDisposable
{
    private readonly TempDirectory _root = new("atalaya-cluster-import");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_file_imported_into_a_cluster_reaches_ClickHouse_once_enriched_with_the_clusters_stores()
    {
        var database = await cluster.ClickHouse.NewDatabaseAsync();
        var url = new Uri(cluster.ClickHouse.Url, database.Database).ToString();
        await using var node = await ServeProcess.StartAsync(null, "--data", _root["node"], "--clickhouse", url, "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--no-scheduler");
        using var clickHouse = new ClickHouseClient(ClickHouseSettings.Parse(url));

        // First file: the store, some page views, and one line the collector refuses (its timestamp is not one).
        var first = Lines(Events.Valid("store_created", "store-1"), Events.Valid("page_view", "pv-1"), Events.Valid("page_view", "pv-2"))
            + "{\"event_id\":\"bad-1\",\"event_type\":\"page_view\",\"timestamp\":\"yesterday\"}\n";
        var (exit, stdout, stderr) = await ImportAsync(first, "--clickhouse", url, "--rabbitmq", cluster.Rabbit.Uri.ToString());
        Assert.True(exit == 0, stdout + stderr);
        Assert.True(stdout.Contains("into the cluster's queue", StringComparison.Ordinal), stdout + stderr);
        Assert.True(stdout.Contains("Imported 3 events (0 duplicates skipped, 1 rejected)", StringComparison.Ordinal), stdout + stderr);
        Assert.True(stdout.Contains("line 4:", StringComparison.Ordinal), stdout + stderr);
        await CountAsync(clickHouse, 3);

        // Second file, from another folder: a visit that names only its store is filled from the cluster's stores.
        var visit = Events.Valid("store_visited", "visit-1");
        visit["context"]!.AsObject().Remove("country");
        (exit, stdout, stderr) = await ImportAsync(Lines(visit), "--clickhouse", url, "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--data", _root["other"]);
        Assert.True(exit == 0, stdout + stderr);
        await CountAsync(clickHouse, 4);
        Assert.Equal(["MX cdmx-norte z1"], await ClusterData.ColumnAsync(clickHouse, "SELECT concat(country, ' ', hub, ' ', zone) FROM events WHERE event_id = 'visit-1'"));

        // The first file again: every event is a duplicate of what ClickHouse holds, nothing is added.
        (exit, stdout, stderr) = await ImportAsync(first, "--clickhouse", url, "--rabbitmq", cluster.Rabbit.Uri.ToString());
        Assert.True(exit == 0, stdout + stderr);
        Assert.True(stdout.Contains("Imported 0 events (3 duplicates skipped, 1 rejected)", StringComparison.Ordinal), stdout + stderr);
        await Task.Delay(TimeSpan.FromSeconds(2)); // a wrongly published copy would be inserted by now; none may be
        Assert.Equal(["bad-1:0", "pv-1:1", "pv-2:1", "store-1:1", "visit-1:1"], await ClusterData.ColumnAsync(clickHouse,
            "SELECT concat(id, ':', toString(n)) FROM (SELECT arrayJoin(['bad-1', 'pv-1', 'pv-2', 'store-1', 'visit-1']) AS id) "
            + "ANY LEFT JOIN (SELECT event_id AS id, count() AS n FROM events GROUP BY event_id) USING id ORDER BY id"));
    }

    [Fact]
    public async Task An_import_that_cannot_reach_the_cluster_says_so_and_how_to_go_on()
    {
        var database = await cluster.ClickHouse.NewDatabaseAsync();
        var url = new Uri(cluster.ClickHouse.Url, database.Database).ToString();
        var file = Lines(Events.Valid("page_view"));
        var (exit, stdout, stderr) = await ImportAsync(file, "--clickhouse", url, "--rabbitmq", "amqp://guest:guest@127.0.0.1:1/");
        Assert.True(exit == 2, stdout + stderr);
        Assert.True(stderr.Contains("stopped at line 1", StringComparison.Ordinal), stdout + stderr);
        Assert.True(stderr.Contains("run the same import again", StringComparison.Ordinal), stdout + stderr);

        (exit, stdout, stderr) = await ImportAsync(file, "--clickhouse", "http://127.0.0.1:1/atalaya", "--rabbitmq", cluster.Rabbit.Uri.ToString());
        Assert.Equal(2, exit);
        Assert.True(stderr.Contains("--clickhouse: ClickHouse at http://127.0.0.1:1/", StringComparison.Ordinal), stdout + stderr);
        Assert.True(stderr.Contains("nothing was imported", StringComparison.Ordinal), stdout + stderr);

        (exit, stdout, stderr) = await ImportAsync(file, "--clickhouse", url);
        Assert.Equal(2, exit);
        Assert.True(stderr.Contains("give both --clickhouse URL and --rabbitmq URI", StringComparison.Ordinal), stdout + stderr);
        (exit, stdout, stderr) = await ImportAsync(file, "--postgres", "Host=127.0.0.1;Database=atalaya");
        Assert.Equal(2, exit);
        Assert.True(stderr.Contains("add --clickhouse URL and --rabbitmq URI", StringComparison.Ordinal), stdout + stderr);
    }

    private static string Lines(params JsonObject[] events) => string.Concat(events.Select(e => e.ToJsonString() + "\n"));

    private async Task<(int, string, string)> ImportAsync(string ndjson, params string[] options)
    {
        var file = Path.Combine(Directory.CreateDirectory(_root["files"]).FullName, $"events-{Guid.NewGuid():N}.ndjson");
        // With a byte order mark, as editors on Windows write UTF-8: the import reads past it.
        await File.WriteAllTextAsync(file, ndjson, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        var data = options.Contains("--data") ? [] : new[] { "--data", _root["cli"] };
        return await AtalayaProcess.RunAsync(["import", file, .. data, .. options]);
    }

    private static Task CountAsync(ClickHouseClient clickHouse, long count) =>
        Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == count, $"{count} events in ClickHouse", seconds: 60);
}
