using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// Real <c>atalaya serve --clickhouse URL --rabbitmq URI</c> processes on real servers: a node killed
/// with SIGKILL in the middle of ingest loses no acknowledged event, another node's writer takes its
/// shards over, the clients' retries sent to that node are counted once, and that node's KPI
/// answers count every order either node took.
/// </summary>
public sealed class ClusterServeTests(ClusterServers servers) : IClassFixture<ClusterServers>, IDisposable
{
    private readonly TempDirectory _root = new("atalaya-nodes");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_node_killed_mid_ingest_loses_no_acknowledged_event_and_retries_to_another_node_count_once()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString();
        var requests = ClusterData.DemoRequests(new DemoOptions(Days: 2, Seed: 17, EndDate: ClusterData.LastDay, SessionsPerDay: 120), linesPerRequest: 100);
        var acknowledged = new ConcurrentDictionary<int, bool>();

        var (nodeA, keyA) = await StartNodeAsync("a", clickHouseUrl);
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(nodeA.Url), Timeout = TimeSpan.FromSeconds(30) };
            var next = -1;
            var posters = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests.Count)
                {
                    try
                    {
                        if (await ClusterData.PostNdjsonAsync(client, keyA, requests[i]) == HttpStatusCode.OK)
                        {
                            acknowledged[i] = true;
                        }
                    }
                    catch (HttpRequestException)
                    {
                        return; // the node is gone
                    }
                    catch (TaskCanceledException)
                    {
                        return;
                    }
                }
            })).ToList();
            await Wait.UntilAsync(() => acknowledged.Count >= requests.Count / 3, "a third of the requests acknowledged");
        }
        finally
        {
            await nodeA.DisposeAsync(); // SIGKILL, in the middle of the posters' requests
        }
        Assert.True(acknowledged.Count < requests.Count, "the node was killed before every request was sent");

        var (nodeB, keyB) = await StartNodeAsync("b", clickHouseUrl);
        await using (nodeB)
        {
            using var client = new HttpClient { BaseAddress = new Uri(nodeB.Url), Timeout = TimeSpan.FromSeconds(30) };
            // The clients retry what was not acknowledged, and (as clients do after a timeout) some that was.
            var retried = requests.Select((r, i) => (r, i)).Where(p => !acknowledged.ContainsKey(p.i) || p.i % 5 == 0).ToList();
            foreach (var (request, _) in retried)
            {
                Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(client, keyB, request));
            }
            var ids = requests.SelectMany(r => ClusterData.EventIds(r)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            await Wait.UntilAsync(async () => await CountAsync(clickHouse) >= ids.Count, $"{ids.Count} events in ClickHouse", seconds: 120);
            Assert.Equal(ids, await ClusterData.ColumnAsync(clickHouse, "SELECT event_id FROM events ORDER BY event_id"));

            // The node answers KPI reads over every stored event, those node A collected included
            // (ClusterAnswerTests checks the figures against an embedded hub).
            var admin = await ClusterData.CreateTokenAsync(_root["b"], "admin");
            var orders = requests.SelectMany(r => System.Text.Encoding.UTF8.GetString(r).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                .Where(l => l.Contains("\"purchase_completed\"", StringComparison.Ordinal)).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
                .Select(e => e.GetProperty("properties").GetProperty("order_id").GetString()).Distinct().Count();
            await Wait.UntilAsync(async () =>
            {
                using var read = new HttpRequestMessage(HttpMethod.Get, $"/api/kpi/query?metric=orders&start_date={ClusterData.LastDay.AddDays(-5):yyyy-MM-dd}&end_date={ClusterData.LastDay:yyyy-MM-dd}&aggregate=total");
                read.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
                using var answer = await client.SendAsync(read);
                if (answer.StatusCode != HttpStatusCode.OK)
                {
                    return false;
                }
                using var json = System.Text.Json.JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
                return json.RootElement.GetProperty("data")[0].GetProperty("value").GetDouble() == orders;
            }, $"node B counts the {orders} orders both nodes took", seconds: 60);

            // Its writer's and its projection's work show on /metrics. Node A may have written every
            // retried event before it died (then node B only answered duplicates): one event new to
            // the cluster makes node B's writer insert for certain.
            var fresh = Events.Valid("page_view");
            fresh["event_id"] = "fresh-" + Guid.NewGuid().ToString("N");
            Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(client, keyB, System.Text.Encoding.UTF8.GetBytes(fresh.ToJsonString() + "\n")));
            var text = "";
            await Wait.UntilAsync(async () =>
            {
                using var scrape = new HttpRequestMessage(HttpMethod.Get, "/metrics");
                scrape.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
                using var metrics = await client.SendAsync(scrape);
                text = await metrics.Content.ReadAsStringAsync();
                var inserted = text.Split('\n').Single(l => l.StartsWith("atalaya_cluster_events_written_total{outcome=\"inserted\"}", StringComparison.Ordinal));
                return long.Parse(inserted.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture) > 0;
            }, "node B's /metrics counts its writer's insert", seconds: 60);
            Assert.Contains("atalaya_cluster_projection_lag_events ", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Serve_refuses_half_a_cluster_a_demo_cluster_and_postgres_or_a_role_without_a_cluster_with_a_clear_error()
    {
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--data", _root["x"], "--clickhouse", "http://127.0.0.1:1/");
        Assert.Equal(2, exit);
        Assert.Contains("--rabbitmq", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--data", _root["x"], "--clickhouse", "ftp://127.0.0.1/", "--rabbitmq", "amqp://127.0.0.1/");
        Assert.Equal(2, exit);
        Assert.Contains("http", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--data", _root["x"], "--demo", "--clickhouse", "http://127.0.0.1:1/", "--rabbitmq", "amqp://127.0.0.1/");
        Assert.Equal(2, exit);
        Assert.Contains("migrate --to-cluster", stderr, StringComparison.Ordinal);
        // PostgreSQL holds the state cluster nodes share: alone, it is refused before anything is opened.
        (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--data", _root["x"], "--postgres", "Host=127.0.0.1");
        Assert.Equal(2, exit);
        Assert.Contains("goes with --clickhouse URL and --rabbitmq URI", stderr, StringComparison.Ordinal);
        // So does a node role, and an unknown one is named.
        (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--data", _root["x"], "--role", "collect");
        Assert.Equal(2, exit);
        Assert.Contains("--role collect splits the work of cluster nodes", stderr, StringComparison.Ordinal);
        (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--data", _root["x"], "--role", "reader");
        Assert.NotEqual(0, exit);
        Assert.Contains("reader", stderr, StringComparison.Ordinal);
    }

    private async Task<(ServeProcess Node, string WriteKey)> StartNodeAsync(string name, string clickHouseUrl)
    {
        var data = _root[name];
        var key = await ClusterData.CreateTokenAsync(data, "write", "--source", "test");
        var node = await ServeProcess.StartAsync(null, "--data", data, "--clickhouse", clickHouseUrl, "--rabbitmq", servers.Rabbit.Uri.ToString(), "--no-scheduler");
        return (node, key);
    }

    private static async Task<long> CountAsync(ClickHouseClient client)
    {
        try
        {
            return await client.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None);
        }
        catch (ClickHouseException)
        {
            return 0; // the node has not created the table yet
        }
    }
}
