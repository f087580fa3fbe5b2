using System.Text.Json;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Two cluster collectors (real ClickHouse, RabbitMQ and PostgreSQL on 127.0.0.1) started with
/// <c>--postgres</c>: the events each refuses land in PostgreSQL's one quarantine, listed together,
/// and the source's hourly bound holds across both. With PostgreSQL away a collector still answers
/// (the refused events as refused, the valid ones accepted) and counts the quarantine rows it lost.
/// </summary>
public sealed class PostgresClusterQuarantineTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>
{
    [Fact]
    public async Task Refused_events_posted_to_two_nodes_are_quarantined_together_within_one_budget_and_postgres_away_loses_only_the_rows()
    {
        var shared = await postgres.NewDatabaseAsync();
        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();
        var prefix = "quarantine." + Guid.NewGuid().ToString("N");
        var ingest = new IngestOptions { QuarantinePerRequest = 3, QuarantinePerSourcePerHour = 5 };
        using var stateA = PostgresState.Open(shared);
        using var stateB = PostgresState.Open(shared);
        var clockB = new HeldClock();
        var clusterA = ClusterNode.Create(clickHouseUrl, cluster.Rabbit.Uri.ToString(), 4, prefix);
        var clusterB = ClusterNode.Create(clickHouseUrl, cluster.Rabbit.Uri.ToString(), 4, prefix);
        await using var nodeA = await TestHub.StartAsync(o => o with { Cluster = clusterA, Postgres = stateA, Ingest = ingest, RunScheduler = false, RunAlerts = false });
        await using var nodeB = await TestHub.StartAsync(o => o with { Cluster = clusterB, Postgres = stateB, Ingest = ingest, RunScheduler = false, RunAlerts = false, Time = clockB });
        await Wait.UntilAsync(() => clusterA.Answering && clusterB.Answering, "both nodes started", seconds: 120);

        // Node A: 4 refused (3 kept: the request's bound); node B, same source and hour: 4 refused, 2 kept (the source's budget of 5 is shared).
        var a = await PostAsync(nodeA, nodeA.WriteKey, $"[{Events.Valid("page_view", "q-ok-1").ToJsonString()},{{}},{{}},{{}},{{}}]");
        Assert.Equal((1, 4), (a.Accepted, a.Rejected));
        var b = await PostAsync(nodeB, nodeA.WriteKey, "[{},{},{},{}]");
        clockB.Hold(); // node B's lookup of the write key, made just now, stays fresh for the outage below
        Assert.Equal((0, 4), (b.Accepted, b.Rejected));

        var rows = (await PostgresServer.ColumnAsync(shared, "SELECT source_system || ':' || request_index || ':' || reason FROM failed_events ORDER BY id")).Cast<string>().ToList();
        Assert.Equal(5, rows.Count);
        Assert.All(rows, r => Assert.StartsWith("test:", r, StringComparison.Ordinal));
        Assert.Equal(["4/3", "4/2"], (await PostgresServer.ColumnAsync(shared, "SELECT rejected || '/' || kept FROM quarantine_overflow ORDER BY received_at, kept DESC")).Cast<string>());
        // Neither node's data folder holds them.
        Assert.Equal(0L, LocalCount(nodeA.DataDirectory));
        Assert.Equal(0L, LocalCount(nodeB.DataDirectory));

        // PostgreSQL away: node B (its write key looked up a moment ago, its clock held) still answers.
        await postgres.PauseAsync();
        try
        {
            var during = await PostAsync(nodeB, nodeA.WriteKey, $"[{Events.Valid("page_view", "q-ok-2").ToJsonString()},{{}},{{}}]");
            Assert.Equal((1, 2), (during.Accepted, during.Rejected));
            Assert.Equal(2, clusterB.QuarantineRowsLost);
            Assert.Equal(0, clusterA.QuarantineRowsLost);
        }
        finally
        {
            await postgres.ResumeAsync();
        }
        Assert.Equal(5L, (long)(await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM failed_events")).Single()!);
        Assert.Equal(0L, LocalCount(nodeB.DataDirectory));

        // The quarantine check on either node counts both nodes' rejections: 5 stored and 3 counted past the bounds (the 2 lost are not known).
        var checks = new Engine.Quality.QualityChecks(nodeA.Hub.Database, Engine.Catalog.EventCatalog.Default, Jobs.JobTestData.Config, [], TimeProvider.System) { Shared = stateA };
        Engine.Quality.QualityResult? finding = null;
        await Wait.UntilAsync(() =>
        {
            try
            {
                finding = checks.Run().Single(r => r.Check == "quarantine" && r.Subject == "test");
                return true;
            }
            catch (StateUnavailableException)
            {
                return false; // node A's pooled connections were cut by the outage; the next call connects afresh
            }
        }, "node A reaches PostgreSQL again");
        Assert.StartsWith("8 of ", finding!.Message, StringComparison.Ordinal);
    }

    private static async Task<(int Accepted, int Rejected)> PostAsync(TestHub node, string writeKey, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", writeKey);
        using var response = await node.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {text}");
        var answer = JsonDocument.Parse(text).RootElement;
        return (answer.GetProperty("accepted").GetInt32(), answer.GetProperty("rejected").GetArrayLength());
    }

    private static long LocalCount(string dataDirectory)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, Engine.Storage.HubDatabase.FileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM failed_events;";
        return (long)command.ExecuteScalar()!;
    }
}
