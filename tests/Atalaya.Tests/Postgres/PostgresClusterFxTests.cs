using System.Net;
using Atalaya.Engine.ClickHouse;
using Atalaya.Tests.Access;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The exchange rates on a cluster (real ClickHouse, RabbitMQ and PostgreSQL on 127.0.0.1): rates
/// imported once with <c>atalaya fx import --postgres</c> are the ones every node freezes into the
/// events it collects, so two collectors never store different rates for the same day; a later
/// import reaches a running node without a restart; a bad file changes nothing.
/// </summary>
public sealed class PostgresClusterFxTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private readonly TempDirectory _root = new("atalaya-pg-fx");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Rates_imported_once_are_frozen_alike_by_every_node_and_a_new_import_reaches_running_nodes()
    {
        var shared = await postgres.NewDatabaseAsync();
        var clickHouseDatabase = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouseDatabase.Database).ToString();
        var write = await ClusterData.CreateTokenAsync(_root["cli"], "write", "--source", "web", "--postgres", shared);
        var (exit, stdout, stderr) = await ImportAsync(shared, "day,currency,rate\n2026-02-27,MXN,0.0581\n2026-03-02,MXN,0.07\n");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("Imported 2 rates for 1 currencies.", stdout, StringComparison.Ordinal);

        await using var nodeA = await StartNodeAsync("a", clickHouseUrl, shared);
        await using var nodeB = await StartNodeAsync("b", clickHouseUrl, shared);
        using var clientA = new HttpClient { BaseAddress = new Uri(nodeA.Url), Timeout = TimeSpan.FromSeconds(30) };
        using var clientB = new HttpClient { BaseAddress = new Uri(nodeB.Url), Timeout = TimeSpan.FromSeconds(30) };
        // Neither node's data folder holds a rate: 2026-03-01 takes the closest earlier day's from PostgreSQL on both.
        await PostAsync(clientA, write, "on-a");
        await PostAsync(clientB, write, "on-b");
        using var clickHouse = new ClickHouseClient(ClickHouseSettings.Parse(clickHouseUrl));
        Assert.Equal("0.0581", await RateAsync(clickHouse, "on-a"));
        Assert.Equal("0.0581", await RateAsync(clickHouse, "on-b"));

        // A bad file is refused whole: the good line before the bad one is not imported either.
        (exit, _, stderr) = await ImportAsync(shared, "2026-02-27,MXN,0.5\n2026-02-28,mxn,-1\n");
        Assert.Equal(2, exit);
        Assert.Contains("line 2: currency must be an ISO 4217 code", stderr, StringComparison.Ordinal);
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("fx", "list", "--postgres", shared, "--data", _root["cli"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("0.0581", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("0.5", stdout, StringComparison.Ordinal);

        // A new rate for the day reaches both running nodes (they re-read the rates every 10 s); what they stored before keeps its rate.
        (exit, stdout, stderr) = await ImportAsync(shared, "2026-03-01,MXN,0.0602\n");
        Assert.True(exit == 0, stdout + stderr);
        var sent = 0;
        foreach (var (client, name) in new[] { (clientA, "a"), (clientB, "b") })
        {
            await Wait.UntilAsync(async () =>
            {
                var id = $"later-{name}-{++sent}";
                await PostAsync(client, write, id);
                return await RateAsync(clickHouse, id) == "0.0602";
            }, $"node {name} freezes the newly imported rate", seconds: 60);
        }
        Assert.Equal("0.0581", await RateAsync(clickHouse, "on-a"));
        Assert.Equal("0.0581", await RateAsync(clickHouse, "on-b"));
    }

    [Fact]
    public async Task Fx_commands_say_what_is_wrong_with_the_postgres_setting()
    {
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("fx", "list", "--data", _root["cli"], "--postgres", "Host=127.0.0.1;Port=1;Username=atalaya");
        Assert.Equal(2, exit);
        Assert.Contains("cannot be reached", stderr, StringComparison.Ordinal);
        var file = Path.Combine(Directory.CreateDirectory(_root["files"]).FullName, "rates.csv");
        await File.WriteAllTextAsync(file, "2026-03-01,MXN,0.06\n");
        (exit, _, stderr) = await AtalayaProcess.RunAsync("fx", "import", file, "--data", _root["cli"], "--postgres", "postgres://u:sekret@127.0.0.1/db");
        Assert.Equal(2, exit);
        Assert.Contains("not a URL", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("sekret", stderr, StringComparison.Ordinal);
    }

    private async Task<(int, string, string)> ImportAsync(string shared, string csv)
    {
        var file = Path.Combine(Directory.CreateDirectory(_root["files"]).FullName, $"rates-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(file, csv);
        return await AtalayaProcess.RunAsync("fx", "import", file, "--postgres", shared, "--data", _root["cli"]);
    }

    /// <summary>The rate ClickHouse holds for the event, once a writer has inserted it.</summary>
    private static async Task<string> RateAsync(ClickHouseClient clickHouse, string eventId)
    {
        var sql = $"SELECT toString(fx_rate_to_reporting) FROM events WHERE event_id = '{eventId}'";
        await Wait.UntilAsync(async () => (await ClusterData.ColumnAsync(clickHouse, sql)).Count == 1, $"{eventId} in ClickHouse", seconds: 60);
        return (await ClusterData.ColumnAsync(clickHouse, sql)).Single();
    }

    private async Task<ServeProcess> StartNodeAsync(string name, string clickHouseUrl, string shared) =>
        await ServeProcess.StartAsync(null, "--data", _root[name], "--clickhouse", clickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(),
            "--postgres", shared, "--no-scheduler");

    private static async Task PostAsync(HttpClient client, string key, string id)
    {
        var purchase = Events.Valid("purchase_completed", id);
        purchase["properties"]!["order_id"] = "o-" + id;
        // A node answers 503 with Retry-After until its projection is loaded; collecting works at once, but wait for 200 regardless.
        await Wait.UntilAsync(async () =>
        {
            var (status, _) = await AccessHttp.SendAsync(client, HttpMethod.Post, "/api/events", key, purchase.ToJsonString());
            return status == HttpStatusCode.OK;
        }, $"{client.BaseAddress} accepts {id}");
    }
}
