using System.Net;
using System.Text.Json;
using Atalaya.Tests.Access;
using Atalaya.Tests.Alerts;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Two real <c>atalaya serve --clickhouse … --rabbitmq … --postgres …</c> nodes reading the same
/// alert rules: exactly one evaluates and notifies (one notification for a firing threshold rule,
/// not one per node), the other node lists the alert from PostgreSQL, and when that node is killed
/// the other takes the evaluation over and still lists the same episode.
/// </summary>
public sealed class PostgresClusterAlertTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private const string Evaluates = "this node now evaluates the cluster's alert rules";
    private const string Waits = "another node evaluates the cluster's alert rules";
    private readonly TempDirectory _root = new("atalaya-pg-alert-nodes");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task One_node_evaluates_a_firing_rule_notifies_once_and_the_other_takes_over_when_it_dies()
    {
        await using var receiver = await Receiver.StartAsync();
        var variable = "ATALAYA_TEST_HOOK_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        Environment.SetEnvironmentVariable(variable, "k3y-" + Guid.NewGuid().ToString("N")); // the nodes inherit it
        try
        {
            Directory.CreateDirectory(_root["config"]);
            // No orders at all: the threshold rule fires on whichever node evaluates it.
            await File.WriteAllTextAsync(Path.Combine(_root["config"], "dev.yaml"), $$"""
                environment: dev
                alerts:
                  evaluate_every: 100ms
                  channels:
                    - {name: ops, type: webhook, url: "{{receiver.Url}}", secret_env: {{variable}}}
                  rules:
                    - {name: orders-low, kpi: orders, window: 1h, below: 5, channels: [ops]}
                """);
            var shared = await postgres.NewDatabaseAsync();
            var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
            var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();

            var nodes = new List<ServeProcess>();
            try
            {
                nodes.Add(await StartNodeAsync("a", clickHouseUrl, shared));
                nodes.Add(await StartNodeAsync("b", clickHouseUrl, shared));
                await Wait.UntilAsync(() => nodes.Any(n => n.Output.Contains(Evaluates, StringComparison.Ordinal)), "a node to take the evaluation");
                var holder = nodes.Single(n => n.Output.Contains(Evaluates, StringComparison.Ordinal));
                var other = nodes.Single(n => n != holder);
                await Wait.UntilAsync(() => receiver.Accepted.Any(), "the firing notification");
                // The other node has asked (every 100 ms) and been refused: it neither evaluated nor notified.
                await Wait.UntilAsync(() => other.Output.Contains(Waits, StringComparison.Ordinal), "the other node to find the evaluation taken");
                Assert.DoesNotContain(Evaluates, other.Output, StringComparison.Ordinal);
                var notification = Assert.Single(receiver.Accepted);
                Assert.Contains("orders-low", System.Text.Encoding.UTF8.GetString(notification.Body), StringComparison.Ordinal);

                // The node that does not evaluate lists the alert: the alerts are the cluster's, in PostgreSQL.
                var analyst = await ClusterData.CreateTokenAsync(_root["cli"], "analyst", "--postgres", shared);
                using var client = new HttpClient { BaseAddress = new Uri(other.Url), Timeout = TimeSpan.FromSeconds(30) };
                string? alertId = null;
                await Wait.UntilAsync(async () =>
                {
                    var (status, body) = await AccessHttp.GetAsync(client, "/api/alerts", analyst);
                    if (status != HttpStatusCode.OK)
                    {
                        return false; // 503 until the node has loaded its projection
                    }
                    using var listed = JsonDocument.Parse(body);
                    alertId = Assert.Single(listed.RootElement.GetProperty("data").EnumerateArray()).GetProperty("alert_id").GetString();
                    return true;
                }, "the other node to list the alert");

                // The holder is killed: the server closes its session, and the other node takes the evaluation over.
                await holder.DisposeAsync();
                nodes.Remove(holder);
                await Wait.UntilAsync(() => other.Output.Contains(Evaluates, StringComparison.Ordinal), "the surviving node to take the evaluation over");
                var after = await AccessHttp.GetJsonAsync(client, "/api/alerts?state=firing", analyst);
                Assert.Equal(alertId, Assert.Single(after.GetProperty("data").EnumerateArray()).GetProperty("alert_id").GetString());
            }
            finally
            {
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    private async Task<ServeProcess> StartNodeAsync(string name, string clickHouseUrl, string shared) =>
        await ServeProcess.StartAsync(null, "--data", _root[name], "--config", _root["config"], "--clickhouse", clickHouseUrl,
            "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", shared, "--no-scheduler");
}
