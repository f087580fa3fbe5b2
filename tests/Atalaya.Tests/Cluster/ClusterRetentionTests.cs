using System.Net;
using System.Text.Json.Nodes;
using Atalaya.Engine;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Privacy;
using Atalaya.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// The retention jobs on a cluster node (docs/privacy.md, docs/scale-out.md): the personal_fields
/// job drops the same fields from the same events in ClickHouse's rows as the embedded job does in
/// its blocks, records the same run, and a later run takes only what became old since; the retention
/// job drops the same whole months (ClickHouse partitions) once the marts are final for them, and the
/// dropped events' ids still count a retried event as a duplicate.
/// </summary>
public sealed class ClusterRetentionTests(ClusterServers servers) : IClassFixture<ClusterServers>
{
    private static string Event(string id, string at, string extra = "") =>
        $$$"""{"event_id":"{{{id}}}","event_type":"page_view","timestamp":"{{{at}}}","user_id":"u-1","session_id":"s-{{{id}}}","context":{"ip":"198.51.100.7","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1","page_url":"https://shop.example/","country":"SE"{{{extra}}}},"properties":{}}""";

    [Fact]
    public async Task The_personal_fields_job_leaves_clickhouse_rows_as_the_embedded_job_leaves_blocks()
    {
        await using var pair = await HubPair.StartAsync(servers);
        var (clickHouse, node, cluster, embedded) = (pair.ClickHouse, pair.Node, pair.Cluster, pair.Embedded);
        var ndjson = string.Join('\n',
            Event("old-1", "2026-03-01T10:00:00Z"),
            Event("old-2", "2026-03-20T10:00:00Z", ""","traits":{"plan":"gold"}"""),
            Event("edge", "2026-04-01T00:00:00.500Z"),
            Event("old-quiet", "2026-03-21T10:00:00Z").Replace("\"ip\":\"198.51.100.7\",", "", StringComparison.Ordinal)
                .Replace("\"user_agent\":\"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1\",", "", StringComparison.Ordinal),
            Event("recent", "2026-06-20T10:00:00Z")) + "\n";
        foreach (var hub in new[] { embedded, cluster })
        {
            using var posted = await hub.PostEventsAsync(ndjson, "application/x-ndjson");
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }
        await Wait.UntilAsync(() => cluster.Hub.Kpis.Projection.Count == 5, "the node's projection holds the events", seconds: 120);

        // 90 days before 2026-06-30T00:00:00.600Z: the edge event, half a second past its second, is older by 100 ms.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 6, 30, 0, 0, 0, 600, TimeSpan.Zero));
        var config = new EnvironmentConfig { Environment = "dev" };
        config.Retention.PersonalFieldsDays = 90;
        var (embeddedRunner, clusterRunner) = pair.Runners(config, clock);

        var expected = embeddedRunner.Run(PersonalFieldsRetention.JobName, "manual").Run!;
        var actual = clusterRunner.Run(PersonalFieldsRetention.JobName, "manual").Run!;

        Assert.Equal(RunStatus.Success, expected.Status);
        Assert.True(actual.Status == RunStatus.Success, actual.ErrorMessage);
        Assert.Equal(3, expected.RecordsWritten); // old-1, old-2 and the edge; old-quiet had nothing to drop
        Assert.Equal((expected.RecordsWritten, expected.Details), (actual.RecordsWritten, actual.Details));
        await SameRowsAsync(embedded, clickHouse);
        var rows = await RowsAsync(clickHouse);
        Assert.DoesNotContain("198.51.100", rows["old-1"], StringComparison.Ordinal);
        Assert.DoesNotContain("gold", rows["old-2"], StringComparison.Ordinal);
        Assert.Contains("\"ip\"", rows["recent"], StringComparison.Ordinal);

        // The same run again changes nothing; 100 days on, only the recent event became old.
        Assert.Equal(0, clusterRunner.Run(PersonalFieldsRetention.JobName, "manual").Run!.RecordsWritten);
        clock.Advance(TimeSpan.FromDays(100));
        var laterExpected = embeddedRunner.Run(PersonalFieldsRetention.JobName, "manual").Run!;
        var later = clusterRunner.Run(PersonalFieldsRetention.JobName, "manual").Run!;
        Assert.Equal((1L, laterExpected.Details), (later.RecordsWritten, later.Details));
        await SameRowsAsync(embedded, clickHouse);
        // Every KPI figure stays: the node's projection was never told, and ClickHouse still holds every event.
        Assert.Equal(5, await clickHouse.ScalarInt64Async($"SELECT count() FROM {EventsSchema.Events}", CancellationToken.None));
    }

    [Fact]
    public async Task The_retention_job_drops_the_same_months_as_the_embedded_job_and_their_ids_stay_duplicates()
    {
        await using var pair = await HubPair.StartAsync(servers);
        var (clickHouse, node, cluster, embedded) = (pair.ClickHouse, pair.Node, pair.Cluster, pair.Embedded);
        // One request per month, as traffic would be: the embedded hub's blocks do not straddle a month.
        string[][] months =
        [
            [Event("jan-1", "2026-01-05T10:00:00Z"), Event("jan-2", "2026-01-31T23:59:59.900Z")],
            [Event("feb-1", "2026-02-14T10:00:00Z")],
            [Event("mar-1", "2026-03-01T00:00:00Z"), Event("jun-1", "2026-06-10T10:00:00Z")],
        ];
        foreach (var hub in new[] { embedded, cluster })
        {
            foreach (var month in months)
            {
                using var posted = await hub.PostEventsAsync(string.Join('\n', month) + "\n", "application/x-ndjson");
                Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            }
        }
        await Wait.UntilAsync(() => cluster.Hub.Kpis.Projection.Count == 5, "the node's projection holds the events", seconds: 120);

        // Three months before June 2026: January and February go, March stays.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 6, 15, 8, 0, 0, TimeSpan.Zero));
        var config = new EnvironmentConfig { Environment = "dev" };
        config.Retention.Enabled = true;
        config.Retention.RawEventsMonths = 3;
        var (embeddedRunner, clusterRunner) = pair.Runners(config, clock);

        // Marts not final yet: both refuse, naming them, and drop nothing.
        var refused = clusterRunner.Run("retention", "manual").Run!;
        Assert.Equal((RunStatus.Failed, embeddedRunner.Run("retention", "manual").Run!.ErrorMessage), (refused.Status, refused.ErrorMessage));
        Assert.Contains("marts not final up to 2026-02-28", refused.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(5, await clickHouse.ScalarInt64Async($"SELECT count() FROM {EventsSchema.Events}", CancellationToken.None));

        foreach (var hub in new[] { embedded, cluster })
        {
            using var connection = hub.Hub.Database.Connect();
            foreach (var mart in Engine.Jobs.Marts.MartBuilder.Names)
            {
                using var command = connection.CreateCommand();
                command.CommandText = $"INSERT INTO mart_state (mart, through_seq, through_day) VALUES ('{mart}', 0, '2026-06-14');";
                command.ExecuteNonQuery();
            }
        }
        // The embedded hub keeps blocks its data-quality profile has not counted: it counts them first.
        embeddedRunner.Run(Engine.Quality.QualityJob.Name, "manual");
        var expected = embeddedRunner.Run("retention", "manual").Run!;
        var actual = clusterRunner.Run("retention", "manual").Run!;

        Assert.Equal(RunStatus.Success, expected.Status);
        Assert.True(actual.Status == RunStatus.Success, actual.ErrorMessage);
        Assert.Equal((3L, 3L), (expected.RecordsWritten, actual.RecordsWritten));
        Assert.Contains("of months 2026-01, 2026-02", expected.Details, StringComparison.Ordinal);
        Assert.Contains("dropped 2 monthly partitions (3 events) of months 2026-01, 2026-02", actual.Details, StringComparison.Ordinal);
        Assert.Equal(StoredEvents.All(embedded.DataDirectory).Select(e => e.GetProperty("event_id").GetString()).Order(StringComparer.Ordinal),
            (await RowsAsync(clickHouse)).Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["jun-1", "mar-1"], (await RowsAsync(clickHouse)).Keys.Order(StringComparer.Ordinal));
        Assert.Equal(3, await clickHouse.ScalarInt64Async($"SELECT sum(events) FROM {EventsSchema.RetiredMonths}", CancellationToken.None));
        // The aggregates of the dropped months went with them; the kept months' are still there.
        foreach (var aggregate in KpiAggregates.Tables)
        {
            var partitions = $"SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = '{aggregate}' AND active AND partition IN ('202601', '202602')";
            Assert.Equal(0, await clickHouse.ScalarInt64Async(partitions, CancellationToken.None));
        }
        Assert.Equal(2, await clickHouse.ScalarInt64Async($"SELECT uniqExactMerge(events) FROM {KpiAggregates.Daily}", CancellationToken.None));

        // A retried old event is still a duplicate on both; a second run finds nothing more to drop.
        foreach (var hub in new[] { embedded, cluster })
        {
            using var retried = await hub.PostEventsAsync(months[0][0]);
            Assert.Equal(1, System.Text.Json.JsonDocument.Parse(await retried.Content.ReadAsStringAsync()).RootElement.GetProperty("duplicates").GetInt32());
        }
        Assert.Equal(0, await clickHouse.ScalarInt64Async($"SELECT count() FROM {EventsSchema.Events} WHERE event_id = 'jan-1'", CancellationToken.None));
        var again = clusterRunner.Run("retention", "manual").Run!;
        Assert.Equal((RunStatus.Success, 0L), (again.Status, again.RecordsWritten));
        Assert.Contains("nothing dropped older than 2026-03-01", again.Details, StringComparison.Ordinal);
    }

    /// <summary>A cluster node on a fresh ClickHouse database and an embedded hub, both without a scheduler, the node's (empty) projection loaded.</summary>
    private sealed record HubPair(ClickHouseClient ClickHouse, ClusterNode Node, TestHub Cluster, TestHub Embedded) : IAsyncDisposable
    {
        public static async Task<HubPair> StartAsync(ClusterServers servers)
        {
            var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
            var node = ClusterNode.Create(new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString(), servers.Rabbit.Uri.ToString(), 4,
                "retention." + Guid.NewGuid().ToString("N"));
            var cluster = await TestHub.StartAsync(o => o with { Cluster = node, RunScheduler = false, RunAlerts = false });
            var pair = new HubPair(clickHouse, node, cluster, await TestHub.StartAsync(o => o with { RunScheduler = false, RunAlerts = false }));
            try
            {
                await Wait.UntilAsync(() => node.Answering, "the node loaded its (empty) projection", seconds: 120);
                return pair;
            }
            catch
            {
                await pair.DisposeAsync();
                throw;
            }
        }

        /// <summary>The jobs of each hub under the same configuration and clock; the node's read its events from ClickHouse.</summary>
        public (JobRunner Embedded, JobRunner Cluster) Runners(EnvironmentConfig config, TimeProvider clock) =>
            (new JobRunner(Embedded.Hub.Database, Embedded.Hub.Kpis, config, clock),
             new JobRunner(Cluster.Hub.Database, Cluster.Hub.Kpis, config, clock) { OnCluster = true, Events = new ClusterEventPositions(Node) });

        public async ValueTask DisposeAsync()
        {
            await Embedded.DisposeAsync();
            await Cluster.DisposeAsync();
        }
    }

    private static async Task SameRowsAsync(TestHub embedded, ClickHouseClient clickHouse)
    {
        var blocks = StoredEvents.All(embedded.DataDirectory).ToDictionary(e => e.GetProperty("event_id").GetString()!, e => Comparable(e.GetRawText()), StringComparer.Ordinal);
        var rows = (await RowsAsync(clickHouse)).ToDictionary(r => r.Key, r => Comparable(r.Value), StringComparer.Ordinal);
        Assert.Equal(blocks.OrderBy(b => b.Key, StringComparer.Ordinal), rows.OrderBy(r => r.Key, StringComparer.Ordinal));
    }

    private static async Task<Dictionary<string, string>> RowsAsync(ClickHouseClient clickHouse)
    {
        var rows = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var row in clickHouse.QueryAsync($"SELECT event_id, payload FROM {EventsSchema.Events}", CancellationToken.None))
        {
            rows.Add(row[0]!, row[1]!);
        }
        return rows;
    }

    private static string Comparable(string storedEvent)
    {
        var o = JsonNode.Parse(storedEvent)!.AsObject();
        o.Remove("received_at");
        return o.ToJsonString();
    }
}
