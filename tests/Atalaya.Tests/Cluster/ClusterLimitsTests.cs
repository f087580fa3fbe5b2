using System.Net;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Cluster;
using Atalaya.Tests.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// What a cluster node does not do says so (docs/scale-out.md, "What is built, and what is
/// not yet"): erasing a person without <c>--postgres</c> (the plan and the record of erasures must be
/// shared by every node; with it: ClusterErasureTests), and the retention job, which would work on
/// the node's own folder, holding none of the cluster's events, and report success having changed
/// nothing (the personal_fields job rewrites ClickHouse: ClusterRetentionTests). (Exporting a person searches ClickHouse: ClusterPrivacyTests.)
/// </summary>
public sealed class ClusterLimitsTests(ClusterServers servers) : IClassFixture<ClusterServers>
{
    [Fact]
    public async Task Erasure_without_postgres_and_the_retention_job_refuse_on_a_cluster_node_instead_of_reporting_work_they_did_not_do()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var node = ClusterNode.Create(new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString(), servers.Rabbit.Uri.ToString(), 4,
            "limits." + Guid.NewGuid().ToString("N"));
        await using var hub = await TestHub.StartAsync(o => o with { Cluster = node, RunScheduler = false, RunAlerts = false });
        var admin = hub.Hub.Tokens.Create(new TokenRequest(Role.Admin, "limits")).Secret;
        await Wait.UntilAsync(() => node.Answering, "the node loaded its (empty) projection", seconds: 120);

        var (status, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/privacy/erasure", admin, """{"user_id": "u-1"}""");
        Assert.Equal(HttpStatusCode.NotImplemented, status);
        Assert.Contains("--postgres", body, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", body, StringComparison.Ordinal);
        // Bad input is still named first, as on the embedded hub.
        (status, _) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, "/api/privacy/erasure", admin, """{"user_id": 5}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);

        foreach (var job in new[] { "retention" })
        {
            (status, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, $"/api/jobs/{job}/run", admin);
            Assert.True(status == HttpStatusCode.Accepted, $"{job}: {(int)status} {body}");
            var runId = JsonDocument.Parse(body).RootElement.GetProperty("run_id").GetString();
            JsonElement run = default;
            await Wait.UntilAsync(async () =>
            {
                run = (await AccessHttp.GetJsonAsync(hub.Client, $"/api/runs?job={job}", admin)).GetProperty("data").EnumerateArray().Single(r => r.GetProperty("run_id").GetString() == runId);
                return run.GetProperty("status").GetString() != "running";
            }, $"the {job} run ends");
            Assert.Equal("failed", run.GetProperty("status").GetString());
            Assert.Contains("not built on a cluster", run.GetProperty("error_message").GetString(), StringComparison.Ordinal);
        }
    }
}
