using System.Net;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Access;
using Atalaya.Tests.Postgres;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// <c>atalaya privacy export|erase --clickhouse URL --rabbitmq URI --postgres CONNSTRING</c> on real
/// servers: the command answers an access request with the document a node answers, and erases a
/// person across the cluster as a node's <c>POST /api/privacy/erasure</c> does: ClickHouse's rows
/// rewritten, the running node's projection re-keyed through the queue, every figure unchanged, the
/// erasure recorded and audited in PostgreSQL. Without PostgreSQL it refuses and changes nothing.
/// </summary>
public sealed class ClusterPrivacyCommandTests(ClusterServers servers, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private readonly TempDirectory _root = new("atalaya-cluster-privacy-cli");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task The_command_exports_as_a_node_does_and_erases_across_the_cluster_keeping_every_figure()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var url = new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString();
        var shared = await postgres.NewDatabaseAsync();
        using var state = PostgresState.Open(shared);
        // The default queue names, as the command uses: this class has a broker of its own.
        var cluster = ClusterNode.Create(url, servers.Rabbit.Uri.ToString());
        await using var node = await TestHub.StartAsync(o => o with { Cluster = cluster, Postgres = state, RunScheduler = false, RunAlerts = false });
        await Wait.UntilAsync(() => cluster.Answering, "the node loaded its projection", seconds: 120);
        await ClusterErasureTests.FeedAsync([node]);
        var admin = node.CreateToken(Role.Admin);
        var before = await ClusterErasureTests.AnswersAsync(node, admin);
        string[] target = ["--clickhouse", url, "--rabbitmq", servers.Rabbit.Uri.ToString(), "--data", _root["cli"]];

        // Export: the node's document (less the moment each was made).
        var file = Path.Combine(Directory.CreateDirectory(_root["out"]).FullName, "ana.json");
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync(["privacy", "export", "--user", ClusterErasureTests.User, "--out", file, "--postgres", shared, .. target]);
        Assert.True(exit == 0, stdout + stderr);
        var fromNode = await AccessHttp.GetJsonAsync(node.Client, "/api/privacy/export?user_id=" + Uri.EscapeDataString(ClusterErasureTests.User), admin);
        using (var fromCli = JsonDocument.Parse(await File.ReadAllBytesAsync(file)))
        {
            Assert.Equal(ClusterErasureTests.ExportText(fromNode, "psn_"), ClusterErasureTests.ExportText(fromCli.RootElement, "psn_"));
            Assert.NotEmpty(fromCli.RootElement.GetProperty("events").EnumerateArray());
        }

        // Erasing without the cluster's PostgreSQL is refused before anything changes.
        (exit, _, stderr) = await AtalayaProcess.RunAsync(["privacy", "erase", "--user", ClusterErasureTests.User, .. target]);
        Assert.Equal(2, exit);
        Assert.Contains("needs its PostgreSQL", stderr, StringComparison.Ordinal);
        Assert.True(await ClusterErasureTests.NamingAsync(clickHouse, ClusterErasureTests.User) > 0);

        (exit, stdout, stderr) = await AtalayaProcess.RunAsync(["privacy", "erase", "--user", ClusterErasureTests.User, "--postgres", shared, .. target]);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("Erased era_", stdout, StringComparison.Ordinal);
        Assert.Equal(0, await ClusterErasureTests.NamingAsync(clickHouse, ClusterErasureTests.User));
        Assert.Equal(0, await ClusterErasureTests.NamingAsync(clickHouse, "anon-ana-1"));
        // The running node heard the re-keying through the queue: the pseudonym holds her figures, her id none.
        var pseudonym = (await ClusterErasureTests.RowsAsync(clickHouse))["ana-0005"].UserId;
        Assert.StartsWith("psn_", pseudonym, StringComparison.Ordinal);
        await Wait.UntilAsync(() => ClusterErasureTests.Keyed(node, pseudonym) && !ClusterErasureTests.Keyed(node, ClusterErasureTests.User), "the node's projection is re-keyed");
        Assert.Equal(before, await ClusterErasureTests.AnswersAsync(node, admin));
        Assert.Equal(HttpStatusCode.NotFound, (await AccessHttp.GetAsync(node.Client, "/api/privacy/export?user_id=" + Uri.EscapeDataString(ClusterErasureTests.User), admin)).Status);
        Assert.Equal(["done"], await PostgresServer.ColumnAsync(shared, "SELECT state FROM privacy_erasures"));

        // Again, by a linked id: already erased, on the cluster's record.
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync(["privacy", "erase", "--anonymous", "anon-ana-2", "--postgres", shared, .. target]);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("Already erased by era_", stdout, StringComparison.Ordinal);
        var audited = (await PostgresServer.ColumnAsync(shared, "SELECT action || ' ' || actor FROM audit_log WHERE action LIKE 'privacy.%' ORDER BY seq")).Cast<string>().ToList();
        Assert.Equal(["privacy.export", "privacy.erasure.request", "privacy.erasure.done", "privacy.erasure.request"], audited.Select(a => a.Split(' ')[0]));
        Assert.All(audited, a => Assert.Contains(" cli:", a, StringComparison.Ordinal));
        var parameters = string.Join('\n', await PostgresServer.ColumnAsync(shared, "SELECT params FROM audit_log"));
        Assert.DoesNotContain(ClusterErasureTests.User, parameters, StringComparison.Ordinal);
    }
}
