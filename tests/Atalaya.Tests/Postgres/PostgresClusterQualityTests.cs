using System.Net;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Quality;
using Atalaya.Tests.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Two hubs on one PostgreSQL, each with its own data folder, play two cluster nodes: the
/// <c>dq_health</c> run started on one node keeps its findings in PostgreSQL, and the other node's
/// <c>GET /api/quality</c> and <c>atalaya quality show --postgres</c> show them (neither data folder
/// holds them). While PostgreSQL is away <c>GET /api/quality</c> answers 503 with Retry-After, and
/// the figures' health keeps the run read last instead of failing.
/// </summary>
public sealed class PostgresClusterQualityTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task A_quality_run_on_one_node_is_read_on_the_other_and_postgres_away_is_503()
    {
        var database = await server.NewDatabaseAsync();
        using var stateA = PostgresState.Open(database);
        using var stateB = PostgresState.Open(database);
        var clockB = new HeldClock();
        await using var nodeA = await TestHub.StartAsync(o => o with { Postgres = stateA });
        await using var nodeB = await TestHub.StartAsync(o => o with { Postgres = stateB, Time = clockB });
        var admin = nodeA.CreateToken(Role.Admin);
        using (var events = await nodeA.PostEventsAsync(Events.Valid("page_view").ToJsonString()))
        {
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        }

        // A job run on node B, which the pipeline check of node A's quality run must find in PostgreSQL.
        var (reportStarted, reportBody) = await AccessHttp.SendAsync(nodeB.Client, HttpMethod.Post, "/api/jobs/report_daily/run", admin);
        Assert.True(reportStarted == HttpStatusCode.Accepted, reportBody);
        var reportRun = JsonDocument.Parse(reportBody).RootElement.GetProperty("run_id").GetString()!;
        await Wait.UntilAsync(async () => (await PostgresServer.ColumnAsync(database, $"SELECT status FROM pipeline_runs WHERE run_id = '{reportRun}'")).SingleOrDefault() is "success",
            "the report run started on node B succeeds");

        var (started, startedBody) = await AccessHttp.SendAsync(nodeA.Client, HttpMethod.Post, "/api/jobs/dq_health/run", admin);
        Assert.True(started == HttpStatusCode.Accepted, startedBody);
        var runId = JsonDocument.Parse(startedBody).RootElement.GetProperty("run_id").GetString()!;
        await Wait.UntilAsync(async () => (await PostgresServer.ColumnAsync(database, $"SELECT status FROM pipeline_runs WHERE run_id = '{runId}'")).SingleOrDefault() is "success",
            "the dq_health run started on node A succeeds");

        var stored = (await PostgresServer.ColumnAsync(database, $"SELECT check_name FROM dq_results WHERE run_id = '{runId}'")).Cast<string>().ToList();
        Assert.NotEmpty(stored);
        var onB = await AccessHttp.GetJsonAsync(nodeB.Client, "/api/quality", admin);
        Assert.Equal(runId, onB.GetProperty("run_id").GetString());
        Assert.Equal(stored.Count, onB.GetProperty("counts").EnumerateObject().Sum(c => c.Value.GetInt32()));
        Assert.Equal((await AccessHttp.GetJsonAsync(nodeA.Client, "/api/quality", admin)).GetProperty("data").ToString(), onB.GetProperty("data").ToString());
        Assert.Equal(stored.Order(StringComparer.Ordinal), nodeB.Hub.QualityResults.Read(runId).Select(r => r.Check).Order(StringComparer.Ordinal));
        // The pipeline check on node A judged the run node B made: it read the runs in PostgreSQL.
        var pipeline = nodeB.Hub.QualityResults.Read(runId).Single(r => r.Check == "pipeline" && r.Subject == "report_daily");
        Assert.Equal(QualityStatus.Ok, pipeline.Status);
        Assert.Contains(reportRun, pipeline.Message, StringComparison.Ordinal);
        // Neither data folder holds the findings.
        Assert.Null(QualityResults.LatestRun(nodeA.Hub.Database));
        Assert.Null(QualityResults.LatestRun(nodeB.Hub.Database));
        // The figures' health on node B comes from node A's run.
        var health = nodeB.Hub.Health.For(["orders"], AccessScope.Everything, Engine.Kpi.Query.DimensionFilter.None);
        Assert.Equal(runId, health.RunId);

        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("quality", "show", "--postgres", database, "--data", Path.Combine(nodeA.DataDirectory, "never-opened"));
        Assert.True(exit == 0, stderr);
        Assert.Contains($"Run {runId}", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(nodeA.DataDirectory, "never-opened")));
        (exit, _, stderr) = await AtalayaProcess.RunAsync("quality", "run", "--postgres", database, "--data", nodeA.DataDirectory + "-cli");
        Assert.Equal(2, exit);
        Assert.Contains("POST /api/jobs/dq_health/run", stderr, StringComparison.Ordinal);

        clockB.Hold(); // node B's token lookup, cached now, stays fresh: the quality call itself meets the outage
        Assert.Equal(HttpStatusCode.OK, (await AccessHttp.GetAsync(nodeB.Client, "/api/quality", admin)).Status);
        await server.PauseAsync();
        try
        {
            await PostgresTokenHttpTests.AssertUnavailableAsync(nodeB, HttpMethod.Get, "/api/quality", admin);
            Assert.Equal(runId, nodeB.Hub.Health.For(["orders"], AccessScope.Everything, Engine.Kpi.Query.DimensionFilter.None).RunId);
        }
        finally
        {
            await server.ResumeAsync();
        }
        await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(nodeB.Client, "/api/quality", admin)).Status == HttpStatusCode.OK,
            "node B reads the findings again once PostgreSQL is back");
    }
}
