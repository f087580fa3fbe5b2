using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Access;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The marts on a cluster (docs/scale-out.md, "Marts on a cluster"): two real
/// <c>serve --clickhouse … --rabbitmq … --postgres …</c> nodes and an embedded hub take the same
/// generated marketplace. Node A's daily_batch builds the marts from its projection into PostgreSQL,
/// row for row what the embedded hub's daily_batch builds into its data folder; node B's kpi_refresh
/// finds them built and changes no row; node B answers the marketing KPIs from the connectors' rows
/// in PostgreSQL. With PostgreSQL paused, node B answers that read 503 with Retry-After and its mart
/// run cannot start (503); once it is back, the run succeeds.
/// </summary>
public sealed class PostgresClusterMartTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private const string Start = "2026-03-02";
    private const string End = "2026-03-15";
    private readonly TempDirectory _root = new("atalaya-pg-marts");

    public void Dispose() => _root.Dispose();

    /// <summary>The freshness, mart freshness and quarantine findings of the latest quality run, as check/subject/status (and the quarantine's rate).</summary>
    private static async Task<List<string>> FindingsAsync(HttpClient client, string admin) =>
        [.. (await AccessHttp.GetJsonAsync(client, "/api/quality", admin)).GetProperty("data").EnumerateArray()
            .Where(f => f.GetProperty("check").GetString() is "freshness" or "mart_freshness" or "quarantine")
            .Select(f => $"{f.GetProperty("check").GetString()}/{f.GetProperty("subject").GetString()}/{f.GetProperty("status").GetString()}"
                + (f.GetProperty("check").GetString() == "quarantine" ? "/" + f.GetProperty("value").GetDouble().ToString(CultureInfo.InvariantCulture) : ""))
            .Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_nodes_daily_batch_builds_the_embedded_hubs_marts_in_postgres_and_every_node_reads_them()
    {
        var shared = await postgres.NewDatabaseAsync();
        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();
        var requests = ClusterData.DemoRequests(new DemoOptions(Days: 14, Seed: 31, EndDate: ClusterData.LastDay, SessionsPerDay: 40), linesPerRequest: 250);
        var write = await ClusterData.CreateTokenAsync(_root["cli"], "write", "--source", "test", "--postgres", shared);
        var admin = await ClusterData.CreateTokenAsync(_root["cli"], "admin", "--postgres", shared);
        var embeddedWrite = await ClusterData.CreateTokenAsync(_root["embedded"], "write", "--source", "test");
        var embeddedAdmin = await ClusterData.CreateTokenAsync(_root["embedded"], "admin");

        await using var embedded = await ServeProcess.StartAsync(null, "--data", _root["embedded"], "--no-scheduler");
        await using var nodeA = await StartNodeAsync("a", clickHouseUrl, shared);
        await using var nodeB = await StartNodeAsync("b", clickHouseUrl, shared);
        using var clientE = new HttpClient { BaseAddress = new Uri(embedded.Url), Timeout = TimeSpan.FromSeconds(60) };
        using var clientA = new HttpClient { BaseAddress = new Uri(nodeA.Url), Timeout = TimeSpan.FromSeconds(60) };
        using var clientB = new HttpClient { BaseAddress = new Uri(nodeB.Url), Timeout = TimeSpan.FromSeconds(60) };
        for (var i = 0; i < requests.Count; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(clientE, embeddedWrite, requests[i]));
            Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(i % 2 == 0 ? clientA : clientB, write, requests[i]));
        }
        // Both nodes' projections hold every event: they answer what the embedded hub answers.
        var orders = $"/api/kpi/query?metric=orders,gmv,sessions&start_date={Start}&end_date={End}&aggregate=total";
        var expected = Figures((await AccessHttp.GetJsonAsync(clientE, orders, embeddedAdmin)).GetProperty("data"));
        Assert.True(expected.Length > 0 && expected[0] > 0);
        foreach (var client in new[] { clientA, clientB })
        {
            await Wait.UntilAsync(async () => await AnswerAsync(client, orders, admin) is { } answer && answer.SequenceEqual(expected),
                $"{client.BaseAddress} holds every event", seconds: 120);
        }

        var embeddedRun = await RunJobAsync(clientE, embeddedAdmin, "daily_batch");
        var runA = await RunJobAsync(clientA, admin, "daily_batch");

        Assert.Equal("success", embeddedRun.GetProperty("status").GetString());
        Assert.True(runA.GetProperty("status").GetString() == "success", runA.ToString());
        Assert.True(runA.GetProperty("records_written").GetInt64() > 0);
        using var state = PostgresState.Open(shared);
        var inPostgres = MartStore.Postgres(state);
        var inFolder = MartStore.Sqlite(new HubDatabase(_root["embedded"]));
        var built = JobTestData.Dump(inPostgres, withRunId: false);
        SameRows(JobTestData.Dump(inFolder, withRunId: false), built);
        Assert.Equal(5, Count(state, "SELECT count(*) FROM mart_state"));

        // The quality checks on the cluster judge the cluster's events (ClickHouse) and marts (PostgreSQL),
        // not the node's empty data folder: the same findings as the embedded hub's, one refused event each.
        const string Refused = """{"event_id":"dq-bad","event_type":"purchase_completed","timestamp":"2026-03-14T10:00:00Z","properties":{}}""";
        Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(clientE, embeddedWrite, System.Text.Encoding.UTF8.GetBytes(Refused + "\n")));
        Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(clientB, write, System.Text.Encoding.UTF8.GetBytes(Refused + "\n")));
        Assert.Equal("success", (await RunJobAsync(clientE, embeddedAdmin, "dq_health")).GetProperty("status").GetString());
        Assert.Equal("success", (await RunJobAsync(clientB, admin, "dq_health")).GetProperty("status").GetString());
        var embeddedFindings = await FindingsAsync(clientE, embeddedAdmin);
        var clusterFindings = await FindingsAsync(clientA, admin);
        Assert.Equal(embeddedFindings, clusterFindings);
        Assert.Contains("freshness/test/ok", clusterFindings);
        Assert.Contains("mart_freshness/daily_metrics/" + embeddedFindings.Single(f => f.StartsWith("mart_freshness/daily_metrics/", StringComparison.Ordinal)).Split('/')[2], clusterFindings);
        var quarantine = clusterFindings.Single(f => f.StartsWith("quarantine/test/", StringComparison.Ordinal));
        var stored = requests.Sum(r => r.Count(b => b == (byte)'\n'));
        Assert.EndsWith("/" + Math.Round(100.0 / (stored + 1), 3).ToString(CultureInfo.InvariantCulture), quarantine);

        // Node B's refresh finds node A's marts and watermarks in PostgreSQL: it rewrites at most the few
        // rows whose sums its own projection added up in another order (the 15th digit), never the marts.
        var refreshB = await RunJobAsync(clientB, admin, "kpi_refresh");
        Assert.True(refreshB.GetProperty("status").GetString() == "success", refreshB.ToString());
        var rows = built.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.True(refreshB.GetProperty("records_written").GetInt64() * 100 < rows, $"node B rewrote {refreshB.GetProperty("records_written")} of {rows} rows");
        SameRows(built, JobTestData.Dump(inPostgres, withRunId: false));
        // Both nodes list both runs (runs are shared too).
        var listed = (await AccessHttp.GetJsonAsync(clientA, "/api/runs?status=success", admin)).GetProperty("data").EnumerateArray().Select(r => r.GetProperty("run_id").GetString());
        Assert.Contains(refreshB.GetProperty("run_id").GetString(), listed);

        // A late order for a closed day, taken by node A: node B's next daily_batch picks it up from
        // ClickHouse's insert times, as the embedded hub's does from its log.
        var store = requests.SelectMany(r => System.Text.Encoding.UTF8.GetString(r).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .Select(l => JsonDocument.Parse(l).RootElement).First(e => e.GetProperty("event_type").GetString() == "store_created")
            .GetProperty("properties").GetProperty("store_id").GetString()!;
        var late = new Kpi.Datasets.EventBuilder("late");
        late.Order("2026-03-10T12:00:00Z", "late-order-1", store, "late-user", items: [("late-product", 3, 40m)]);
        var lateBody = System.Text.Encoding.UTF8.GetBytes(Kpi.Datasets.EventBuilder.Ndjson(late.Events));
        Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(clientE, embeddedWrite, lateBody));
        Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(clientA, write, lateBody));
        expected = Figures((await AccessHttp.GetJsonAsync(clientE, orders, embeddedAdmin)).GetProperty("data"));
        await Wait.UntilAsync(async () => await AnswerAsync(clientB, orders, admin) is { } answer && answer.SequenceEqual(expected),
            "node B holds the late order", seconds: 120);
        var lateE = await RunJobAsync(clientE, embeddedAdmin, "daily_batch");
        var lateB = await RunJobAsync(clientB, admin, "daily_batch");
        Assert.True(lateB.GetProperty("status").GetString() == "success", lateB.ToString());
        Assert.True(lateB.GetProperty("records_written").GetInt64() > 0);
        Assert.Equal(1, Count(state, "SELECT count(*) FROM product_metrics WHERE product_id = 'late-product' AND date = '2026-03-10' AND units = 3"));
        // Days before the look-back window were not recomputed: node A's rows there stand.
        Assert.Equal(0, Count(state, $"SELECT count(*) FROM daily_metrics WHERE date < '2026-03-03' AND run_id = '{lateB.GetProperty("run_id").GetString()}'"));
        // Node B recomputed from a day earlier than the embedded hub (the events inserted in the minute
        // before its last run count as late, see ClusterEventPositions), and fact_kpi_daily holds a
        // group's zeros on every day of the range a run computed: those zero rows may differ, no figure.
        SameRows(WithoutZeroFacts(JobTestData.Dump(inFolder, withRunId: false)), WithoutZeroFacts(JobTestData.Dump(inPostgres, withRunId: false)));
        Assert.Equal("success", lateE.GetProperty("status").GetString());

        // A connector's day, as a connector job on any node writes it: node B answers it.
        var day = DateOnly.Parse(End, CultureInfo.InvariantCulture);
        inPostgres.Run(connection =>
        {
            using var transaction = connection.BeginTransaction();
            ConnectorStore.WriteDay(inPostgres, connection, transaction, "app_store", day, [new AppTarget("shop-ios", "ios")],
                [new FactRow(day, "shop-ios", "ios", "installs", 40)], _ => 1, "run_app_store_on_a_node");
            transaction.Commit();
            return 0;
        });
        var withConnector = JobTestData.Dump(inPostgres, withRunId: false);
        var installs = $"/api/kpi/query?metric=installs&start_date={End}&end_date={End}&aggregate=total";
        Assert.Equal(new[] { 40.0 }, await AnswerAsync(clientB, installs, admin));

        // PostgreSQL away: the read answers 503 with Retry-After, and a mart run cannot even be recorded.
        await postgres.PauseAsync();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, installs);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
            using var away = await clientB.SendAsync(request);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, away.StatusCode);
            Assert.NotNull(away.Headers.RetryAfter);
            var (refused, body) = await AccessHttp.SendAsync(clientB, HttpMethod.Post, "/api/jobs/daily_batch/run", admin);
            Assert.True(refused == HttpStatusCode.ServiceUnavailable, $"{(int)refused} {body}");
        }
        finally
        {
            await postgres.ResumeAsync();
        }
        await Wait.UntilAsync(async () => await AnswerAsync(clientB, installs, admin) is [40.0], "node B answers again once PostgreSQL is back");
        var after = await RunJobAsync(clientB, admin, "daily_batch");
        Assert.True(after.GetProperty("status").GetString() == "success", after.ToString());
        // This test's own pooled connections were cut by the pause: the first call afterwards may find one broken.
        await Wait.UntilAsync(() => Reachable(state), "PostgreSQL answers this test again");
        // The connector's row stays: the marts never rebuild or delete the connectors' rows (zero rows as above).
        SameRows(WithoutZeroFacts(withConnector), WithoutZeroFacts(JobTestData.Dump(inPostgres, withRunId: false)));
        Assert.Equal(1, Count(state, "SELECT count(*) FROM fact_kpi_daily WHERE source_system = 'app_store' AND value = 40"));
    }

    /// <summary>Starts a job on a node and waits for its end; the run as <c>/api/runs</c> lists it.</summary>
    internal static async Task<JsonElement> RunJobAsync(HttpClient client, string admin, string job)
    {
        var (status, body) = await AccessHttp.SendAsync(client, HttpMethod.Post, $"/api/jobs/{job}/run", admin);
        Assert.True(status == HttpStatusCode.Accepted, $"{job}: {(int)status} {body}");
        var runId = JsonDocument.Parse(body).RootElement.GetProperty("run_id").GetString();
        JsonElement run = default;
        await Wait.UntilAsync(async () =>
        {
            run = (await AccessHttp.GetJsonAsync(client, $"/api/runs?job={job}", admin)).GetProperty("data").EnumerateArray()
                .FirstOrDefault(r => r.GetProperty("run_id").GetString() == runId);
            return run.ValueKind == JsonValueKind.Object && run.GetProperty("status").GetString() != "running";
        }, $"{job} {runId} ends", seconds: 120);
        return run;
    }

    /// <summary>A KPI answer's values in order, or null while the node cannot answer (loading, PostgreSQL away).</summary>
    private static async Task<double[]?> AnswerAsync(HttpClient client, string question, string admin)
    {
        var (status, body) = await AccessHttp.GetAsync(client, question, admin);
        return status == HttpStatusCode.OK ? Figures(JsonDocument.Parse(body).RootElement.GetProperty("data")) : null;
    }

    private static double[] Figures(JsonElement data) =>
        [.. data.EnumerateArray().Select(r => r.GetProperty("value").ValueKind == JsonValueKind.Number ? r.GetProperty("value").GetDouble() : double.NaN)];

    private static bool Reachable(PostgresState state)
    {
        try
        {
            return Count(state, "SELECT 1") == 1;
        }
        catch (StateUnavailableException)
        {
            return false;
        }
    }

    private static long Count(PostgresState state, string sql) => MartStore.Postgres(state).Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    });

    /// <summary>
    /// The same rows with the same texts, and numbers equal to within a billionth of their size: a
    /// node adds up two collectors' events in another order than the embedded hub's one log, so a
    /// sum of doubles may differ in its 15th digit (docs/scale-out.md).
    /// </summary>
    internal static void SameRows(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        Assert.True(e.Length > 100, "the embedded hub's marts hold rows, so agreeing says something");
        Assert.True(e.Length == a.Length, $"{e.Length} rows against {a.Length}; only on one side:\n{string.Join('\n', e.Except(a).Concat(a.Except(e)).Take(10))}");
        for (var i = 0; i < e.Length; i++)
        {
            var ef = e[i].Split('|');
            var af = a[i].Split('|');
            Assert.True(ef.Length == af.Length && ef.Zip(af).All(p => p.First == p.Second || Close(p.First, p.Second)), $"embedded: {e[i]}\nnode:     {a[i]}");
        }
    }

    private static string WithoutZeroFacts(string dump) =>
        string.Join('\n', dump.Split('\n').Where(l => !(l.StartsWith("fact_kpi_daily|", StringComparison.Ordinal) && l.Split('|')[6] == "0")));

    private static bool Close(string x, string y) =>
        double.TryParse(x, CultureInfo.InvariantCulture, out var dx) && double.TryParse(y, CultureInfo.InvariantCulture, out var dy)
        && Math.Abs(dx - dy) <= 1e-9 * Math.Max(1, Math.Max(Math.Abs(dx), Math.Abs(dy)));

    private Task<ServeProcess> StartNodeAsync(string name, string clickHouseUrl, string shared) =>
        ServeProcess.StartAsync(null, "--data", _root[name], "--no-scheduler", "--clickhouse", clickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", shared);
}
