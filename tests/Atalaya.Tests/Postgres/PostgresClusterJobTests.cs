using System.Text.Json;
using Atalaya.Tests.Access;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Two real <c>atalaya serve --clickhouse … --rabbitmq … --postgres …</c> nodes with their
/// schedulers on, started together on one new cluster: every job is due at once (it never ran), both
/// nodes try to catch it up, and each job runs once, on one node; both nodes list that one run.
/// The command line lists it too from PostgreSQL, and refuses <c>--postgres</c> where it does not apply
/// (alone, for a job that needs the cluster's events: with <c>--clickhouse</c> it runs one, PostgresClusterProfileTests).
/// </summary>
public sealed class PostgresClusterJobTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private static readonly string[] Jobs = ["daily_batch", "kpi_refresh", "dq_health"];

    private readonly TempDirectory _root = new("atalaya-pg-jobs");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_job_due_on_two_nodes_runs_once_and_both_nodes_list_its_run()
    {
        var shared = await postgres.NewDatabaseAsync();
        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();
        var admin = await ClusterData.CreateTokenAsync(_root["cli"], "admin", "--postgres", shared);

        var starting = new[] { StartNodeAsync("a", clickHouseUrl, shared), StartNodeAsync("b", clickHouseUrl, shared) };
        await using var nodeA = await starting[0];
        await using var nodeB = await starting[1];

        // Each node has run each job, or found it run or running by the other, or not due any more.
        foreach (var node in new[] { nodeA, nodeB })
        {
            await Wait.UntilAsync(() => node.Output.Contains("Scheduler caught up", StringComparison.Ordinal), $"{node.Url} has caught up its jobs", seconds: 120);
        }

        using var clientA = new HttpClient { BaseAddress = new Uri(nodeA.Url), Timeout = TimeSpan.FromSeconds(30) };
        using var clientB = new HttpClient { BaseAddress = new Uri(nodeB.Url), Timeout = TimeSpan.FromSeconds(30) };
        foreach (var job in Jobs)
        {
            var stored = await PostgresServer.ColumnAsync(shared, $"SELECT run_id FROM pipeline_runs WHERE job = '{job}'");
            var runId = Assert.IsType<string>(Assert.Single(stored));
            await Wait.UntilAsync(async () => (await PostgresServer.ColumnAsync(shared, $"SELECT status FROM pipeline_runs WHERE run_id = '{runId}'")).Single() as string != "running",
                $"{runId} ends");
            foreach (var client in new[] { clientA, clientB })
            {
                var listed = (await AccessHttp.GetJsonAsync(client, $"/api/runs?job={job}", admin)).GetProperty("data");
                var run = Assert.Single(listed.EnumerateArray());
                Assert.Equal(runId, run.GetProperty("run_id").GetString());
                Assert.Equal("catch-up", run.GetProperty("trigger").GetString());
                Assert.NotEqual(JsonValueKind.Null, run.GetProperty("end_time").ValueKind);
                if (job == "daily_batch")
                {
                    Assert.True(run.GetProperty("status").GetString() == "success", $"the catch-up daily_batch did not succeed: {run}");
                }
            }
        }

        // /api/jobs on either node shows the last run and that nothing holds the marts lock now.
        var jobs = (await AccessHttp.GetJsonAsync(clientB, "/api/jobs", admin)).GetProperty("data").EnumerateArray()
            .Single(j => j.GetProperty("job").GetString() == "daily_batch");
        Assert.False(jobs.GetProperty("running").GetBoolean());
        Assert.Equal(JsonValueKind.Object, jobs.GetProperty("last_run").ValueKind);

        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("runs", "--postgres", shared, "--data", _root["cli"], "--job", "daily_batch");
        Assert.True(exit == 0, stderr);
        Assert.Contains((string)(await PostgresServer.ColumnAsync(shared, "SELECT run_id FROM pipeline_runs WHERE job = 'daily_batch'")).Single()!, stdout, StringComparison.Ordinal);

        // A run somewhere else on the cluster (here: this test, as a third node) holds the marts lock: both nodes refuse, naming it.
        using (var third = Engine.Postgres.PostgresState.Open(shared))
        using (var held = Engine.Jobs.JobState.Shared(third).Locks.TryTake(Engine.JobCatalog.MartsLock, "kpi_refresh run_on_a_third_node", out _))
        {
            Assert.NotNull(held);
            foreach (var client in new[] { clientA, clientB })
            {
                var (status, body) = await AccessHttp.SendAsync(client, HttpMethod.Post, "/api/jobs/daily_batch/run", admin);
                Assert.Equal(System.Net.HttpStatusCode.Conflict, status);
                Assert.Contains("run_on_a_third_node", body, StringComparison.Ordinal);
            }
        }
        var (started, startedBody) = await AccessHttp.SendAsync(clientA, HttpMethod.Post, "/api/jobs/daily_batch/run", admin);
        Assert.True(started == System.Net.HttpStatusCode.Accepted, startedBody);
        var manual = JsonDocument.Parse(startedBody).RootElement.GetProperty("run_id").GetString();
        await Wait.UntilAsync(async () => (await AccessHttp.GetJsonAsync(clientB, "/api/runs?job=daily_batch&status=success", admin)).GetProperty("data").EnumerateArray()
            .Any(r => r.GetProperty("run_id").GetString() == manual), "node B lists the run started through node A");
    }

    [Fact]
    public async Task The_command_line_refuses_postgres_where_a_node_must_do_the_work_and_a_node_without_it_says_why_it_runs_no_jobs()
    {
        var shared = await postgres.NewDatabaseAsync();
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("jobs", "run", "daily_batch", "--postgres", shared, "--data", _root["cli"]);
        Assert.Equal(2, exit);
        Assert.Contains("add --clickhouse URL", stderr, StringComparison.Ordinal);
        Assert.Contains("POST /api/jobs/NAME/run", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await AtalayaProcess.RunAsync("jobs", "run", "daily_batch", "--clickhouse", "http://127.0.0.1:1/atalaya", "--data", _root["cli"]);
        Assert.Equal(2, exit);
        Assert.Contains("give --postgres CONNSTRING too", stderr, StringComparison.Ordinal);
        // A ClickHouse that does not answer: a clear error naming the option, no run recorded.
        (exit, _, stderr) = await AtalayaProcess.RunAsync("jobs", "run", "daily_batch", "--postgres", shared, "--clickhouse", "http://127.0.0.1:1/atalaya", "--data", _root["cli"]);
        Assert.Equal(2, exit);
        Assert.Contains("--clickhouse: ClickHouse at http://127.0.0.1:1/", stderr, StringComparison.Ordinal);
        Assert.Empty(await PostgresServer.ColumnAsync(shared, "SELECT run_id FROM pipeline_runs"));

        (exit, _, stderr) = await AtalayaProcess.RunAsync("backfill", "--start", "2026-01-01", "--end", "2026-01-02", "--postgres", shared, "--data", _root["cli"]);
        Assert.Equal(2, exit);
        Assert.Contains("a cluster's events are in ClickHouse", stderr, StringComparison.Ordinal);
        Assert.Contains("add --clickhouse URL", stderr, StringComparison.Ordinal);
        Assert.Contains("POST /api/jobs/backfill/run?start_date=DATE&end_date=DATE", stderr, StringComparison.Ordinal);
        // A ClickHouse that does not answer: a clear error naming the option, nothing started.
        (exit, _, stderr) = await AtalayaProcess.RunAsync("backfill", "--start", "2026-01-01", "--end", "2026-01-02", "--postgres", shared,
            "--clickhouse", "http://127.0.0.1:1/atalaya", "--data", _root["cli"]);
        Assert.Equal(2, exit);
        Assert.Contains("--clickhouse: ClickHouse at http://127.0.0.1:1/", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await AtalayaProcess.RunAsync("backfill", "--start", "2026-01-01", "--end", "2026-01-02", "--clickhouse", "http://127.0.0.1:1/atalaya", "--data", _root["cli"]);
        Assert.Equal(2, exit);
        Assert.Contains("give --postgres CONNSTRING too", stderr, StringComparison.Ordinal);

        (exit, var stdout, stderr) = await AtalayaProcess.RunAsync("jobs", "list", "--postgres", shared, "--data", _root["cli"]);
        Assert.True(exit == 0, stderr);
        Assert.Matches(@"daily_batch\s+\S+ \S+ \S+ \S+ \S+\s+\S+ \S+\s+never", stdout);

        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        await using var node = await ServeProcess.StartAsync(null, "--data", _root["lone"], "--clickhouse", new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString(),
            "--rabbitmq", cluster.Rabbit.Uri.ToString());
        await Wait.UntilAsync(() => node.Output.Contains("Scheduled jobs do not run on this node: a cluster node runs scheduled jobs only with --postgres", StringComparison.Ordinal),
            "the node without --postgres says why it runs no jobs");
    }

    private Task<ServeProcess> StartNodeAsync(string name, string clickHouseUrl, string shared) =>
        ServeProcess.StartAsync(null, "--data", _root[name], "--clickhouse", clickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", shared);
}
