using System.Net;
using Atalaya.Tests.Access;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Two real <c>atalaya serve --clickhouse … --rabbitmq … --postgres …</c> nodes sharing one
/// PostgreSQL: reads and changes audited on either node land in one chain, which either node's
/// audit API shows and <c>atalaya audit verify --postgres</c> verifies; with PostgreSQL stopped,
/// administrative calls on both nodes answer 503 with Retry-After (never 500) until it is back.
/// </summary>
public sealed class PostgresClusterAuditTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private const string Read = "/api/kpi/query?metric=orders";
    private readonly TempDirectory _root = new("atalaya-pg-audit-nodes");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Both_nodes_audit_into_one_chain_that_verifies_and_answer_503_for_administrative_calls_while_postgres_is_away()
    {
        var shared = await postgres.NewDatabaseAsync();
        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();
        var admin = await ClusterData.CreateTokenAsync(_root["cli"], "admin", "--postgres", shared);
        var analyst = await ClusterData.CreateTokenAsync(_root["cli"], "analyst", "--postgres", shared);

        await using var nodeA = await StartNodeAsync("a", clickHouseUrl, shared);
        await using var nodeB = await StartNodeAsync("b", clickHouseUrl, shared);
        using var clientA = new HttpClient { BaseAddress = new Uri(nodeA.Url), Timeout = TimeSpan.FromSeconds(30) };
        using var clientB = new HttpClient { BaseAddress = new Uri(nodeB.Url), Timeout = TimeSpan.FromSeconds(30) };
        foreach (var client in new[] { clientA, clientB })
        {
            await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(client, Read, analyst)).Status == HttpStatusCode.OK,
                $"{client.BaseAddress} answers reads");
        }

        // Reads on both nodes, interleaved, and a change on each.
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(i % 2 == 0 ? clientA : clientB, Read + "&limit=1" + i, analyst)).Status);
        }
        foreach (var client in new[] { clientA, clientB })
        {
            var (created, body) = await AccessHttp.SendAsync(client, HttpMethod.Post, "/api/tokens", admin, """{"role":"analyst"}""");
            Assert.True(created == HttpStatusCode.Created, body);
        }
        // Served reads are committed within each node's read window.
        await Wait.UntilAsync(async () => (await ActionsAsync(shared)).Count(a => a.StartsWith("GET /api/kpi/query", StringComparison.Ordinal)) >= 8,
            "both nodes' reads to be committed to the shared chain");

        // Either node's audit API shows the other's entries: one log.
        var fromB = await AccessHttp.GetJsonAsync(clientB, "/api/audit?action=" + Uri.EscapeDataString("GET /api/kpi/query") + "&limit=1000", admin);
        var numbered = fromB.GetProperty("data").EnumerateArray()
            .Select(e => e.GetProperty("params").TryGetProperty("limit", out var n) ? n.ToString() : null).Where(n => n is not null).Order(StringComparer.Ordinal);
        Assert.Equal(["10", "11", "12", "13", "14", "15"], numbered);
        // Node B's audit read is itself audited, within its read window.
        await Wait.UntilAsync(async () => (await ActionsAsync(shared)).Contains("GET /api/audit"), "the audit read to be committed");
        var actions = await ActionsAsync(shared);
        Assert.Equal(2, actions.Count(a => a == "tokens.create"));
        Assert.Equal(2, actions.Count(a => a == "POST /api/tokens"));
        Assert.Empty(StoredEvents.Query(_root["a"], "SELECT action FROM audit_log;"));
        Assert.Empty(StoredEvents.Query(_root["b"], "SELECT action FROM audit_log;"));

        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("audit", "verify", "--postgres", shared);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains($"Audit log intact: {actions.Count:N0} entries", stdout, StringComparison.Ordinal);

        await postgres.PauseAsync();
        try
        {
            foreach (var client in new[] { clientA, clientB })
            {
                // The token lookups cached before the pause lapse within a second: bounded waits for the 503.
                await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(client, "/api/audit", admin)).Status != HttpStatusCode.OK,
                    $"{client.BaseAddress} to notice PostgreSQL is away");
                await AssertUnavailableAsync(client, HttpMethod.Get, "/api/audit", admin);
                await AssertUnavailableAsync(client, HttpMethod.Post, "/api/tokens", admin, """{"role":"analyst"}""");
                // (An erasure is an administrative call too, but a cluster node answers it 501: ClusterLimitsTests.)
            }
        }
        finally
        {
            await postgres.ResumeAsync();
        }
        foreach (var client in new[] { clientA, clientB })
        {
            await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(client, "/api/audit", admin)).Status == HttpStatusCode.OK,
                $"{client.BaseAddress} to read the audit again once PostgreSQL is back");
        }
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("audit", "verify", "--postgres", shared);
        Assert.True(exit == 0, stdout + stderr);
    }

    private async Task<ServeProcess> StartNodeAsync(string name, string clickHouseUrl, string shared) =>
        await ServeProcess.StartAsync(null, "--data", _root[name], "--clickhouse", clickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(),
            "--postgres", shared, "--no-scheduler");

    private static async Task<List<string>> ActionsAsync(string shared) =>
        [.. (await PostgresServer.ColumnAsync(shared, "SELECT action FROM audit_log ORDER BY seq")).Cast<string>()];

    private static async Task AssertUnavailableAsync(HttpClient client, HttpMethod method, string path, string token, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{client.BaseAddress} {method} {path} answered {(int)response.StatusCode}: {text}");
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
    }
}
