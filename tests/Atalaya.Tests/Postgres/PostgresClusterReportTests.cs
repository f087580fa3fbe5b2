using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Two hubs on one PostgreSQL, each with its own data folder, play two cluster nodes: the report
/// job run through one node stores its report in PostgreSQL, and the other node lists it and serves
/// the same bytes (its own data folder has no report file). While PostgreSQL is away the report
/// calls answer 503 with Retry-After, never 500, and work again once it is back.
/// </summary>
public sealed class PostgresClusterReportTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task A_report_built_on_one_node_is_listed_and_downloaded_on_the_other_and_postgres_away_is_503()
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

        var (started, startedBody) = await AccessHttp.SendAsync(nodeA.Client, HttpMethod.Post, "/api/jobs/report_daily/run", admin);
        Assert.True(started == HttpStatusCode.Accepted, startedBody);
        var runId = JsonDocument.Parse(startedBody).RootElement.GetProperty("run_id").GetString();
        JsonElement run = default;
        await Wait.UntilAsync(async () =>
        {
            run = (await AccessHttp.GetJsonAsync(nodeB.Client, "/api/runs?job=report_daily", admin)).GetProperty("data").EnumerateArray()
                .FirstOrDefault(r => r.GetProperty("run_id").GetString() == runId);
            return run.ValueKind == JsonValueKind.Object && run.GetProperty("status").GetString() != "running";
        }, "node B lists the report run started on node A as ended");
        Assert.True(run.GetProperty("status").GetString() == "success", run.ToString());

        var listed = (await AccessHttp.GetJsonAsync(nodeB.Client, "/api/reports", admin)).GetProperty("data");
        var report = Assert.Single(listed.EnumerateArray());
        Assert.Equal(runId, report.GetProperty("run_id").GetString());
        var id = report.GetProperty("id").GetString()!;
        Assert.StartsWith("daily-" + DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), id, StringComparison.Ordinal);

        var fromB = await DownloadAsync(nodeB, id, admin);
        Assert.Equal(report.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(fromB)));
        Assert.Equal(report.GetProperty("bytes").GetInt64(), fromB.LongLength);
        Assert.Equal(await DownloadAsync(nodeA, id, admin), fromB);
        Assert.StartsWith(Engine.Reports.DailyCsv.Header + "\r\n", System.Text.Encoding.UTF8.GetString(fromB), StringComparison.Ordinal);
        // Neither node keeps the file in its data folder: PostgreSQL holds it.
        Assert.False(File.Exists(Path.Combine(nodeB.DataDirectory, "reports", report.GetProperty("file_name").GetString()!)));
        Assert.False(File.Exists(Path.Combine(nodeA.DataDirectory, "reports", report.GetProperty("file_name").GetString()!)));

        clockB.Hold(); // the admin's token lookup on node B, cached now, stays fresh: the report calls themselves meet the outage
        await server.PauseAsync();
        try
        {
            await PostgresTokenHttpTests.AssertUnavailableAsync(nodeB, HttpMethod.Get, "/api/reports", admin);
            await PostgresTokenHttpTests.AssertUnavailableAsync(nodeB, HttpMethod.Get, "/api/reports/" + id, admin);
        }
        finally
        {
            await server.ResumeAsync();
        }
        await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(nodeB.Client, "/api/reports", admin)).Status == HttpStatusCode.OK,
            "node B lists reports again once PostgreSQL is back");
        Assert.Equal(fromB, await DownloadAsync(nodeB, id, admin));
    }

    [Fact]
    public async Task The_report_command_on_a_cluster_needs_both_servers_and_says_which_is_missing()
    {
        using var folder = new TempDirectory("atalaya-pg-report-cli");
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("report", "daily", "--postgres", "Host=127.0.0.1;Database=atalaya", "--data", folder.Path);
        Assert.Equal(2, exit);
        Assert.Contains("add --clickhouse URL", stderr, StringComparison.Ordinal);
        Assert.Contains("POST /api/jobs/report_daily/run", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await AtalayaProcess.RunAsync("report", "daily", "--clickhouse", "http://127.0.0.1:1/atalaya", "--data", folder.Path);
        Assert.Equal(2, exit);
        Assert.Contains("give --postgres CONNSTRING too", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await AtalayaProcess.RunAsync("report", "weekly", "--pdf", "--postgres", "Host=127.0.0.1;Database=atalaya", "--clickhouse", "http://127.0.0.1:1/atalaya",
            "--data", folder.Path);
        Assert.Equal(2, exit);
        Assert.Contains("give --out DIR", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await AtalayaProcess.RunAsync("quality", "run", "--clickhouse", "http://127.0.0.1:1/atalaya", "--data", folder.Path);
        Assert.Equal(2, exit);
        Assert.Contains("give --postgres CONNSTRING too", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));

        var (helpExit, stdout, helpErr) = await AtalayaProcess.RunAsync("report", "--help");
        Assert.True(helpExit == 0, helpErr);
        Assert.Contains("--postgres", stdout, StringComparison.Ordinal);
        Assert.Contains("--clickhouse", stdout, StringComparison.Ordinal);
    }

    private static async Task<byte[]> DownloadAsync(TestHub node, string id, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/reports/" + id);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await node.Client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{node.BaseAddress} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
        return body;
    }
}
