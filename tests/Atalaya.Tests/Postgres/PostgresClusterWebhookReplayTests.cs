using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Webhooks;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// A cluster node (real ClickHouse, RabbitMQ and PostgreSQL on 127.0.0.1) takes a webhook its
/// mapping does not cover: the body and the dead letter are in PostgreSQL. After the mapping is
/// fixed, <c>atalaya webhooks replay --postgres --clickhouse --rabbitmq</c>, run from another data
/// folder, maps the body the node stored and publishes its event to the cluster's queue: the node's
/// writer puts it in ClickHouse, and the dead letter is resolved for every node.
/// </summary>
public sealed class PostgresClusterWebhookReplayTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private readonly string _secret = "whsec_" + Guid.NewGuid().ToString("N");
    private readonly string _variable = "ATALAYA_TEST_WH_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private readonly TempDirectory _root = new("atalaya-pg-webhooks");

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_variable, null);
        _root.Dispose();
    }

    private string Yaml(string ordersMapping) => $"""
        environment: dev
        webhooks:
          orders:
            secret_env: {_variable}
            mapping: {ordersMapping}
        """;

    [Fact]
    public async Task A_webhook_a_node_dead_lettered_is_replayed_by_the_cli_into_the_clusters_events()
    {
        Environment.SetEnvironmentVariable(_variable, _secret);
        var shared = await postgres.NewDatabaseAsync();
        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();
        using var state = PostgresState.Open(shared);
        var node = ClusterNode.Create(clickHouseUrl, cluster.Rabbit.Uri.ToString());
        // "orders" is configured with the stripe mapping by mistake.
        var wrong = EnvironmentFiles.Parse(Yaml("stripe"), "test.yaml", "dev");
        await using var hub = await TestHub.StartAsync(o => o with { Cluster = node, Postgres = state, Config = wrong, RunScheduler = false, RunAlerts = false });
        await Wait.UntilAsync(() => node.Answering, "the node started", seconds: 120);

        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["id"] = "ord_evt_pg",
            ["type"] = "order.status_changed",
            ["occurred_at"] = DateTimeOffset.UtcNow.AddMinutes(-2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["order"] = new Dictionary<string, object> { ["id"] = "o-pg", ["store_id"] = "s-1", ["status"] = "EN_CAMINO" },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/orders") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Webhook-Signature",
            WebhookSignature.Sign(_secret, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(body)));
        using (var response = await hub.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        var letter = Assert.Single(ConnectorRows.Shared(state).DeadLetters("webhook"));

        // Asked for a cluster's dead letters without saying where their events go: refused, nothing replayed.
        var configDirectory = Directory.CreateDirectory(_root["config"]).FullName;
        await File.WriteAllTextAsync(Path.Combine(configDirectory, "dev.yaml"), Yaml("order_status"));
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("webhooks", "replay", "--postgres", shared, "--data", _root["cli"], "--env", "dev", "--config", configDirectory);
        Assert.Equal(2, exit);
        Assert.Contains("--clickhouse URL and --rabbitmq URI", stderr, StringComparison.Ordinal);
        Assert.Single(ConnectorRows.Shared(state).DeadLetters("webhook"));

        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("webhooks", "replay", "--postgres", shared, "--clickhouse", clickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(),
            "--data", _root["cli"], "--env", "dev", "--config", configDirectory);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains($"dead letter {letter.Id.ToString(CultureInfo.InvariantCulture)} (orders): mapped", stdout, StringComparison.Ordinal);

        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events WHERE event_id = 'orders:ord_evt_pg'", CancellationToken.None) == 1,
            "the replayed event written into ClickHouse", seconds: 60);
        Assert.Empty(ConnectorRows.Shared(state).DeadLetters("webhook"));
        Assert.Equal("mapped", (await PostgresServer.ColumnAsync(shared, "SELECT status FROM webhook_inbox")).Single());
    }
}
