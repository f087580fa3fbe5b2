using System.Net;
using Atalaya.Engine.Access;
using Atalaya.Engine.Cluster;
using Atalaya.Tests.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// What a cluster node cannot do says so (docs/scale-out.md, "What is built, and what is not yet"):
/// erasing a person without <c>--postgres</c>, since the plan and the record of erasures must be shared
/// by every node. Answering from the node's own folder would erase nothing and say it had. (With
/// PostgreSQL: ClusterErasureTests; the retention jobs rewrite ClickHouse: ClusterRetentionTests;
/// exporting a person searches ClickHouse: ClusterPrivacyTests.)
/// </summary>
public sealed class ClusterLimitsTests(ClusterServers servers) : IClassFixture<ClusterServers>
{
    [Fact]
    public async Task Erasure_without_postgres_refuses_on_a_cluster_node_instead_of_reporting_work_it_did_not_do()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var node = ClusterNode.Create(new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString(), servers.Rabbit.Uri.ToString(), 4,
            "limits." + Guid.NewGuid().ToString("N"));
        await using var hub = await TestHub.StartAsync(o => o with { Cluster = node, RunScheduler = false, RunAlerts = false });
        var admin = hub.Hub.Tokens.Create(new TokenRequest(Role.Admin, "limits")).Secret;
        await Wait.UntilAsync(() => node.Answering, "the node loaded its (empty) projection", seconds: 120);

        var (status, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/privacy/erasure", admin, """{"user_id": "u-1"}""");
        Assert.Equal(HttpStatusCode.NotImplemented, status);
        Assert.Contains("serve --postgres", body, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", body, StringComparison.Ordinal);
        Assert.Null(hub.Hub.ClusterErasure);
        // Bad input is still named first, as on the embedded hub.
        (status, _) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/privacy/erasure", admin, """{"user_id": 5}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }
}
