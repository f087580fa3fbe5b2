using System.Net;
using Atalaya.Tests.Access;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Two real <c>atalaya serve --clickhouse … --rabbitmq … --postgres …</c> nodes sharing one
/// PostgreSQL: a token made once with <c>atalaya tokens create --postgres</c> is accepted by both,
/// and a revocation through one node's API is refused by the other once its one-second cached
/// lookup lapses (a bounded wait for the outcome, not a timing).
/// </summary>
public sealed class PostgresClusterTokenTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private readonly TempDirectory _root = new("atalaya-pg-nodes");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_token_created_once_works_on_every_node_and_a_revocation_through_one_node_holds_on_the_other()
    {
        var shared = await postgres.NewDatabaseAsync();
        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();
        var admin = await TokenAsync(shared, "admin");
        var analyst = await TokenAsync(shared, "analyst");
        var write = await TokenAsync(shared, "write", "--source", "web");

        await using var nodeA = await StartNodeAsync("a", clickHouseUrl, shared);
        await using var nodeB = await StartNodeAsync("b", clickHouseUrl, shared);
        using var clientA = new HttpClient { BaseAddress = new Uri(nodeA.Url), Timeout = TimeSpan.FromSeconds(30) };
        using var clientB = new HttpClient { BaseAddress = new Uri(nodeB.Url), Timeout = TimeSpan.FromSeconds(30) };

        // No node's data folder was given a token: both know all three from PostgreSQL.
        foreach (var client in new[] { clientA, clientB })
        {
            // A node answers reads once its KPI projection is loaded (503 with Retry-After until then).
            await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(client, "/api/me", analyst)).Status == HttpStatusCode.OK,
                $"{client.BaseAddress} accepts the analyst token");
            using var events = await PostAsync(client, write);
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        }
        var listed = await AccessHttp.GetJsonAsync(clientB, "/api/tokens", admin);
        Assert.Equal(3, listed.GetProperty("data").GetArrayLength());
        var analystId = listed.GetProperty("data").EnumerateArray().Single(t => t.GetProperty("role").GetString() == "analyst").GetProperty("id").GetString();

        var (revoked, body) = await AccessHttp.SendAsync(clientA, HttpMethod.Delete, $"/api/tokens/{analystId}", admin);
        Assert.True(revoked == HttpStatusCode.OK, body);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccessHttp.GetAsync(clientA, "/api/me", analyst)).Status);
        await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(clientB, "/api/me", analyst)).Status == HttpStatusCode.Unauthorized,
            "node B refuses the token revoked through node A", seconds: 30);

        // The shared row says so, and the command line lists the same tokens.
        Assert.IsType<long>(Assert.Single(await PostgresServer.ColumnAsync(shared, $"SELECT revoked_at FROM tokens WHERE id = '{analystId}'")));
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("tokens", "list", "--postgres", shared, "--data", _root["cli"]);
        Assert.True(exit == 0, stderr);
        foreach (var token in listed.GetProperty("data").EnumerateArray())
        {
            Assert.Contains(token.GetProperty("id").GetString()!, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_command_line_and_serve_explain_a_wrong_or_unreachable_postgres_setting()
    {
        var data = _root["cli"];
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("tokens", "create", "--role", "admin", "--data", data, "--postgres", "postgres://u:sekret@127.0.0.1/db");
        Assert.Equal(2, exit);
        Assert.Contains("Host=127.0.0.1;Port=5432", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("sekret", stderr, StringComparison.Ordinal);

        (exit, _, stderr) = await AtalayaProcess.RunAsync("tokens", "list", "--data", data, "--postgres", "Host=127.0.0.1;Port=1;Username=atalaya");
        Assert.Equal(2, exit);
        Assert.Contains("cannot be reached", stderr, StringComparison.Ordinal);
        Assert.Contains("Start the server", stderr, StringComparison.Ordinal);

        // A node does not start without the state it would share.
        (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--data", _root["node"], "--clickhouse", "http://127.0.0.1:1/atalaya",
            "--rabbitmq", "amqp://127.0.0.1:1/", "--postgres", "Host=127.0.0.1;Port=1;Username=atalaya;Password=sekret");
        Assert.Equal(2, exit);
        Assert.Contains("--postgres: PostgreSQL at 127.0.0.1:1/atalaya cannot be reached", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("sekret", stderr, StringComparison.Ordinal);

        var shared = await postgres.NewDatabaseAsync();
        (exit, _, stderr) = await AtalayaProcess.RunAsync("tokens", "revoke", "tok_000000000000", "--data", data, "--postgres", shared);
        Assert.Equal(2, exit);
        Assert.Contains("no active token", stderr, StringComparison.Ordinal);
    }

    private async Task<ServeProcess> StartNodeAsync(string name, string clickHouseUrl, string shared) =>
        await ServeProcess.StartAsync(null, "--data", _root[name], "--clickhouse", clickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(),
            "--postgres", shared, "--no-scheduler");

    private Task<string> TokenAsync(string shared, string role, params string[] extra) =>
        ClusterData.CreateTokenAsync(_root["cli"], role, [.. extra, "--postgres", shared]);

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events")
        {
            Content = new StringContent(Events.Valid("page_view").ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client.SendAsync(request);
    }
}
