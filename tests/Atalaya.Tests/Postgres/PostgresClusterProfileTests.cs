using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Access;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// What a cluster node judges and rebuilds from the cluster's events (docs/scale-out.md, "Marts on
/// a cluster"; docs/quality.md): real <c>serve --clickhouse … --rabbitmq … --postgres …</c> nodes and
/// an embedded hub take the same generated marketplace. The nodes' profile pass reads ClickHouse's
/// events, so their null-rate, volume, drift, consistency and per-country findings equal the embedded
/// hub's (a drifted field and a burst of nulls included), on the node that ran first and on the other,
/// and a second pass counts nothing twice. A range backfill on a node rebuilds the marts in PostgreSQL
/// row for row as the embedded hub's backfill rebuilds its own (a dry run changes nothing there and
/// says what would change); bad ranges are refused with 400, and
/// a backfill while the marts' lock is held anywhere in the cluster with 409.
/// </summary>
public sealed class PostgresClusterProfileTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private readonly TempDirectory _root = new("atalaya-pg-profile");

    public void Dispose() => _root.Dispose();

    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    [Fact]
    public async Task A_nodes_null_rate_volume_drift_and_consistency_findings_equal_the_embedded_hubs()
    {
        await using var hubs = await HubsAsync(new DemoOptions(Days: 12, Seed: 43, EndDate: Today.AddDays(-1), SessionsPerDay: 25), plant: true);

        // The rows ClickHouse stamped last must be past the profile's margin, so that one pass reads them all.
        await Wait.UntilAsync(async () => (await ClusterData.ColumnAsync(hubs.ClickHouse,
                $"SELECT toUnixTimestamp(now()) - {(long)ClusterEventPositions.InsertMargin.TotalSeconds} > toUnixTimestamp(max(inserted_at)) FROM events"))[0] == "1",
            "every insert is older than the profile's margin");
        Assert.Equal("success", (await PostgresClusterMartTests.RunJobAsync(hubs.Embedded, hubs.EmbeddedAdmin, "dq_health")).GetProperty("status").GetString());
        var expected = await FindingsAsync(hubs.Embedded, hubs.EmbeddedAdmin);

        var run = await PostgresClusterMartTests.RunJobAsync(hubs.B, hubs.Admin, "dq_health");
        Assert.True(run.GetProperty("status").GetString() == "success", run.ToString());
        var onB = await FindingsAsync(hubs.B, hubs.Admin);
        Assert.Equal(expected, onB);

        // Something to judge, and judged as planted: not the empty data folder's "nothing to judge".
        Assert.DoesNotContain(onB, f => f.StartsWith("null_rate/", StringComparison.Ordinal) && f.Contains("/skipped/", StringComparison.Ordinal));
        Assert.Contains(onB, f => f.StartsWith("volume/all/", StringComparison.Ordinal) && !f.Contains("/skipped/", StringComparison.Ordinal));
        Assert.Contains(onB, f => f.StartsWith("consistency/order_amounts/warn/", StringComparison.Ordinal) || f.StartsWith("consistency/order_amounts/fail/", StringComparison.Ordinal));
        Assert.Contains(onB, f => f.StartsWith("schema_drift/coupon_redeemed/warn/3/", StringComparison.Ordinal));
        Assert.Contains(onB, f => f.StartsWith("schema_drift/product_viewed.properties.colour/warn/1/", StringComparison.Ordinal));
        Assert.Contains(onB, f => f.StartsWith("schema_drift/page_view.experiment/warn/1/", StringComparison.Ordinal));
        Assert.Contains(onB, f => f.StartsWith("freshness/country:MX/ok", StringComparison.Ordinal));
        // The burst of page views without a session, against a plain count of what was sent.
        var week = hubs.Sent.Where(e => DateOnly.ParseExact(e.GetProperty("timestamp").GetString()![..10], "yyyy-MM-dd", CultureInfo.InvariantCulture) >= Today.AddDays(-6)
            && e.GetProperty("event_type").GetString() == "page_view").ToList();
        var sessionless = week.Count(e => !e.TryGetProperty("session_id", out var s) || string.IsNullOrEmpty(s.GetString()));
        Assert.True(sessionless >= 40);
        var rate = Math.Round(100.0 * sessionless / week.Count, 3).ToString(CultureInfo.InvariantCulture);
        var sessions = onB.Single(f => f.StartsWith("null_rate/page_view.session_id/", StringComparison.Ordinal));
        Assert.Contains($"/{rate}/{sessionless:N0} of {week.Count:N0} page views", sessions, StringComparison.Ordinal);
        Assert.DoesNotContain("/ok/", sessions, StringComparison.Ordinal);

        // A second pass on the same node counts nothing twice (drift counts and volumes would grow),
        // and the other node, whose data folder never counted, finds the same from ClickHouse.
        Assert.Equal("success", (await PostgresClusterMartTests.RunJobAsync(hubs.B, hubs.Admin, "dq_health")).GetProperty("status").GetString());
        Assert.Equal(expected, await FindingsAsync(hubs.B, hubs.Admin));
        Assert.Equal("success", (await PostgresClusterMartTests.RunJobAsync(hubs.A, hubs.Admin, "dq_health")).GetProperty("status").GetString());
        Assert.Equal(expected, await FindingsAsync(hubs.A, hubs.Admin));

        // A node whose data folder was the embedded hub (moved with migrate --to-cluster, say) finds that
        // hub's counters there: its first pass from ClickHouse starts them afresh instead of adding the same events again.
        Directory.CreateDirectory(_root["c"]);
        using (var embeddedDb = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(hubs.EmbeddedData, HubDatabase.FileName)}"))
        {
            embeddedDb.Open();
            using var copy = embeddedDb.CreateCommand();
            copy.CommandText = $"VACUUM INTO '{Path.Combine(_root["c"], HubDatabase.FileName)}';";
            copy.ExecuteNonQuery();
        }
        Assert.True(JobTestData.Count(new HubDatabase(_root["c"]), "SELECT count(*) FROM dq_profile") > 0);
        await using var nodeC = await ServeProcess.StartAsync(null, "--data", _root["c"], "--no-scheduler",
            "--clickhouse", hubs.ClickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", hubs.Postgres);
        using var clientC = new HttpClient { BaseAddress = new Uri(nodeC.Url), Timeout = TimeSpan.FromSeconds(60) };
        await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(clientC, $"/api/kpi/query?metric=orders&start_date={Today:yyyy-MM-dd}&end_date={Today:yyyy-MM-dd}", hubs.Admin)).Status == HttpStatusCode.OK,
            "node C has loaded its projection", seconds: 120);
        Assert.Equal("success", (await PostgresClusterMartTests.RunJobAsync(clientC, hubs.Admin, "dq_health")).GetProperty("status").GetString());
        Assert.Equal(expected, await FindingsAsync(clientC, hubs.Admin));

        // From the command line, with no node involved: the checks profile ClickHouse's events into the
        // command's own (empty) folder and keep their findings in PostgreSQL, where every node reads them.
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("quality", "run", "--clickhouse", hubs.ClickHouseUrl, "--postgres", hubs.Postgres, "--data", _root["cli"]);
        Assert.True(exit is 0 or 3, stdout + stderr); // 3: some findings fail (the planted amounts may)
        Assert.Contains("Loaded ", stdout, StringComparison.Ordinal);
        var cliRun = (await AccessHttp.GetJsonAsync(hubs.A, "/api/runs?job=dq_health", hubs.Admin)).GetProperty("data").EnumerateArray().First();
        Assert.Equal("cli", cliRun.GetProperty("trigger").GetString());
        Assert.Contains(cliRun.GetProperty("run_id").GetString()!, stdout, StringComparison.Ordinal);
        Assert.Equal(cliRun.GetProperty("run_id").GetString(), (await AccessHttp.GetJsonAsync(hubs.A, "/api/quality", hubs.Admin)).GetProperty("run_id").GetString());
        Assert.Equal(expected, await FindingsAsync(hubs.A, hubs.Admin));
    }

    [Fact]
    public async Task A_range_backfill_on_a_node_or_the_command_line_and_daily_batch_from_the_command_line_equal_the_embedded_hubs_row_for_row()
    {
        var end = Today.AddDays(-1);
        await using var hubs = await HubsAsync(new DemoOptions(Days: 10, Seed: 47, EndDate: end, SessionsPerDay: 25), plant: false);
        var (from, to) = (end.AddDays(-6), end.AddDays(-2));
        var range = $"start_date={from:yyyy-MM-dd}&end_date={to:yyyy-MM-dd}";

        // Bad requests name what is wrong and start nothing.
        foreach (var (query, says) in new[]
        {
            ($"end_date={to:yyyy-MM-dd}", "start_date is required"),
            ($"start_date={from:yyyy-MM-dd}", "end_date is required"),
            ($"start_date={to:yyyy-MM-dd}&end_date={from:yyyy-MM-dd}", "is after end_date"),
            ($"start_date={from:yyyy-MM-dd}&end_date={Today:yyyy-MM-dd}", "not a closed day"),
            ($"start_date=2026-13-01&end_date={to:yyyy-MM-dd}", "is not a date"),
            ($"{range}&store=s1&app=shop-web", "no mart has both"),
            ($"{range}&store=", "one or more values"),
            ($"{range}&days=3", "days"),
        })
        {
            var (status, body) = await AccessHttp.SendAsync(hubs.A, HttpMethod.Post, $"/api/jobs/backfill/run?{query}", hubs.Admin);
            Assert.True(status == HttpStatusCode.BadRequest, $"{query}: {(int)status} {body}");
            Assert.Contains(says, AccessHttp.Error(body), StringComparison.Ordinal);
        }
        using var state = PostgresState.Open(hubs.Postgres);
        Assert.Equal(0L, Count(state, "SELECT count(*) FROM pipeline_runs WHERE job = 'backfill'"));

        // The marts' lock held elsewhere in the cluster (here: by this test, as another node's run would): 409.
        using (new PostgresJobLocks(state).TryTake(Engine.JobCatalog.MartsLock, "daily_batch on another node", out _)!)
        {
            var (busy, body) = await AccessHttp.SendAsync(hubs.A, HttpMethod.Post, $"/api/jobs/backfill/run?{range}", hubs.Admin);
            Assert.True(busy == HttpStatusCode.Conflict, $"{(int)busy} {body}");
            Assert.Contains("daily_batch on another node", AccessHttp.Error(body), StringComparison.Ordinal);
        }

        var embedded = await BackfillAsync(hubs.Embedded, hubs.EmbeddedAdmin, range);
        var node = await BackfillAsync(hubs.A, hubs.Admin, range);
        Assert.Equal("success", embedded.GetProperty("status").GetString());
        Assert.True(node.GetProperty("status").GetString() == "success", node.ToString());
        Assert.True(node.GetProperty("records_written").GetInt64() > 0);
        var inPostgres = MartStore.Postgres(state);
        var inFolder = MartStore.Sqlite(new HubDatabase(hubs.EmbeddedData));
        PostgresClusterMartTests.SameRows(JobTestData.Dump(inFolder, withRunId: false), JobTestData.Dump(inPostgres, withRunId: false));
        // Only the range was built (no daily_batch ran): the backfill's rows, not a batch's.
        Assert.Equal(0L, Count(state, $"SELECT count(*) FROM daily_metrics WHERE date < '{from:yyyy-MM-dd}' OR date > '{to:yyyy-MM-dd}'"));
        Assert.True(Count(state, "SELECT count(DISTINCT date) FROM daily_metrics") == 5);

        // A damaged day in PostgreSQL: a backfill of that day from the other node rebuilds it, row for row.
        var day = from.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Assert.True(Count(state, $"SELECT count(*) FROM daily_metrics WHERE date = '{day}'") > 0);
        inPostgres.Run(connection =>
        {
            using var damage = connection.CreateCommand();
            damage.CommandText = $"UPDATE daily_metrics SET orders = orders + 1000 WHERE date = '{day}'; DELETE FROM product_metrics WHERE date = '{day}';";
            return damage.ExecuteNonQuery();
        });
        // A dry run changes nothing in PostgreSQL and says what would change.
        var damaged = JobTestData.Dump(inPostgres, withRunId: false);
        var dry = await BackfillAsync(hubs.B, hubs.Admin, $"start_date={day}&end_date={day}&dry_run=true");
        Assert.True(dry.GetProperty("status").GetString() == "success", dry.ToString());
        Assert.Equal(damaged, JobTestData.Dump(inPostgres, withRunId: false));
        var changes = dry.GetProperty("details").GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("step").GetString() == "changes");
        Assert.Contains("daily_metrics.orders", changes.GetProperty("note").GetString(), StringComparison.Ordinal);

        // The embedded hub backfills the same day: a KPI query lists the groups with events in its range,
        // so a store without events that day keeps its LTV-only row in a wider range and not in the day alone.
        Assert.Equal("success", (await BackfillAsync(hubs.Embedded, hubs.EmbeddedAdmin, $"start_date={day}&end_date={day}")).GetProperty("status").GetString());
        var repair = await BackfillAsync(hubs.B, hubs.Admin, $"start_date={day}&end_date={day}");
        Assert.True(repair.GetProperty("status").GetString() == "success", repair.ToString());
        Assert.True(repair.GetProperty("records_written").GetInt64() > 0);
        PostgresClusterMartTests.SameRows(JobTestData.Dump(inFolder, withRunId: false), JobTestData.Dump(inPostgres, withRunId: false));
        // Every node lists both backfills (runs are shared).
        var listed = (await AccessHttp.GetJsonAsync(hubs.B, "/api/runs?job=backfill", hubs.Admin)).GetProperty("data").EnumerateArray().Select(r => r.GetProperty("run_id").GetString());
        Assert.Equal(new[] { repair.GetProperty("run_id").GetString(), dry.GetProperty("run_id").GetString(), node.GetProperty("run_id").GetString() }, listed);

        // From the command line, with no node involved: the events loaded from ClickHouse, the range
        // rebuilt in PostgreSQL row for row as the embedded hub's backfill of the same range.
        inPostgres.Run(connection =>
        {
            using var damage = connection.CreateCommand();
            damage.CommandText = $"UPDATE daily_metrics SET gmv = gmv + 1 WHERE date = '{day}'; DELETE FROM customer_metrics WHERE date = '{from:yyyy-MM-dd}';";
            return damage.ExecuteNonQuery();
        });
        Assert.Equal("success", (await BackfillAsync(hubs.Embedded, hubs.EmbeddedAdmin, range)).GetProperty("status").GetString());
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("backfill", "--start", $"{from:yyyy-MM-dd}", "--end", $"{to:yyyy-MM-dd}",
            "--clickhouse", hubs.ClickHouseUrl, "--postgres", hubs.Postgres, "--data", _root["cli"]);
        Assert.True(exit == 0, stdout + stderr);
        var stored = long.Parse((await ClusterData.ColumnAsync(hubs.ClickHouse, "SELECT count() FROM events"))[0]!, CultureInfo.InvariantCulture);
        Assert.Contains($"Loaded {stored:N0} events from the cluster's ClickHouse", stdout, StringComparison.Ordinal);
        Assert.Contains("Applied: the live marts now hold the recomputed rows.", stdout, StringComparison.Ordinal);
        PostgresClusterMartTests.SameRows(JobTestData.Dump(inFolder, withRunId: false), JobTestData.Dump(inPostgres, withRunId: false));
        var cli = (await AccessHttp.GetJsonAsync(hubs.A, "/api/runs?job=backfill", hubs.Admin)).GetProperty("data").EnumerateArray().First();
        Assert.Equal("cli", cli.GetProperty("trigger").GetString());
        Assert.Equal("success", cli.GetProperty("status").GetString());

        // The marts' lock held on a node (here: by this test): the command waits for nobody and says who holds it.
        using (new PostgresJobLocks(state).TryTake(Engine.JobCatalog.MartsLock, "daily_batch on another node", out _)!)
        {
            (exit, _, stderr) = await AtalayaProcess.RunAsync("backfill", "--start", $"{from:yyyy-MM-dd}", "--end", $"{to:yyyy-MM-dd}",
                "--clickhouse", hubs.ClickHouseUrl, "--postgres", hubs.Postgres, "--data", _root["cli"]);
            Assert.Equal(4, exit); // JobsCommand.Busy: another run holds the lock
            Assert.Contains("daily_batch on another node", stderr, StringComparison.Ordinal);
            (exit, _, stderr) = await AtalayaProcess.RunAsync("jobs", "run", "kpi_refresh", "--clickhouse", hubs.ClickHouseUrl, "--postgres", hubs.Postgres, "--data", _root["cli"]);
            Assert.Equal(4, exit);
            Assert.Contains("daily_batch on another node", stderr, StringComparison.Ordinal);
        }

        // A scheduled job from the command line for the cluster, as a node's run: daily_batch builds
        // the marts in PostgreSQL row for row as the embedded hub's daily_batch builds its own.
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("jobs", "run", "daily_batch", "--clickhouse", hubs.ClickHouseUrl, "--postgres", hubs.Postgres, "--data", _root["cli"]);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains($"Loaded {stored:N0} events from the cluster's ClickHouse", stdout, StringComparison.Ordinal);
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("jobs", "run", "daily_batch", "--data", hubs.EmbeddedData);
        Assert.True(exit == 0, stdout + stderr);
        Assert.True(Count(state, $"SELECT count(*) FROM daily_metrics WHERE date = '{end:yyyy-MM-dd}'") > 0, "daily_batch built yesterday in PostgreSQL");
        PostgresClusterMartTests.SameRows(JobTestData.Dump(inFolder, withRunId: false), JobTestData.Dump(inPostgres, withRunId: false));
        var batch = (await AccessHttp.GetJsonAsync(hubs.B, "/api/runs?job=daily_batch", hubs.Admin)).GetProperty("data").EnumerateArray().Single();
        Assert.Equal("cli", batch.GetProperty("trigger").GetString());
        Assert.Equal("success", batch.GetProperty("status").GetString());

        // A report from the command line for the cluster: built from ClickHouse's events and kept in
        // PostgreSQL, where every node lists and serves it, byte for byte the embedded hub's report of the same day.
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("report", "daily", "--date", $"{end:yyyy-MM-dd}",
            "--clickhouse", hubs.ClickHouseUrl, "--postgres", hubs.Postgres, "--data", _root["cli"]);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("Kept in the cluster's PostgreSQL", stdout, StringComparison.Ordinal);
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("report", "daily", "--date", $"{end:yyyy-MM-dd}", "--data", hubs.EmbeddedData, "--out", _root["embedded-report"]);
        Assert.True(exit == 0, stdout + stderr);
        var report = (await AccessHttp.GetJsonAsync(hubs.B, "/api/reports", hubs.Admin)).GetProperty("data").EnumerateArray().Single();
        var fromNode = await ReportBytesAsync(hubs.B, hubs.Admin, report.GetProperty("id").GetString()!);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_root["embedded-report"], report.GetProperty("file_name").GetString()!)), fromNode);
        // Not an empty report: the day's orders are there with a figure.
        Assert.Matches($"(?m)^{end:yyyy-MM-dd},[^,]*,[^,]*,orders,[1-9]", Encoding.UTF8.GetString(fromNode));
        Assert.False(Directory.Exists(Path.Combine(_root["cli"], "reports")) && Directory.EnumerateFiles(Path.Combine(_root["cli"], "reports")).Any());
    }

    private static async Task<byte[]> ReportBytesAsync(HttpClient client, string admin, string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/reports/" + id);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>Starts a backfill on a hub and waits for its end; the run as <c>/api/runs</c> lists it.</summary>
    private static async Task<JsonElement> BackfillAsync(HttpClient client, string admin, string range)
    {
        var (status, body) = await AccessHttp.SendAsync(client, HttpMethod.Post, $"/api/jobs/backfill/run?{range}", admin);
        Assert.True(status == HttpStatusCode.Accepted, $"{(int)status} {body}");
        var runId = JsonDocument.Parse(body).RootElement.GetProperty("run_id").GetString();
        JsonElement run = default;
        await Wait.UntilAsync(async () =>
        {
            run = (await AccessHttp.GetJsonAsync(client, "/api/runs?job=backfill", admin)).GetProperty("data").EnumerateArray()
                .FirstOrDefault(r => r.GetProperty("run_id").GetString() == runId);
            return run.ValueKind == JsonValueKind.Object && run.GetProperty("status").GetString() != "running";
        }, $"backfill {runId} ends", seconds: 120);
        return run;
    }

    /// <summary>
    /// The findings the profile's counters decide, as check/subject/status/value/message (the
    /// per-country freshness as check/subject/status: its hours depend on when the run was).
    /// </summary>
    private static async Task<List<string>> FindingsAsync(HttpClient client, string admin) =>
        [.. (await AccessHttp.GetJsonAsync(client, "/api/quality", admin)).GetProperty("data").EnumerateArray()
            .Where(f => f.GetProperty("check").GetString() is "null_rate" or "volume" or "schema_drift" or "consistency"
                || f.GetProperty("subject").GetString()!.StartsWith("country:", StringComparison.Ordinal))
            .Select(f => f.GetProperty("check").GetString() == "freshness"
                ? $"freshness/{f.GetProperty("subject").GetString()}/{f.GetProperty("status").GetString()}"
                : $"{f.GetProperty("check").GetString()}/{f.GetProperty("subject").GetString()}/{f.GetProperty("status").GetString()}/"
                    + $"{(f.GetProperty("value").ValueKind == JsonValueKind.Number ? f.GetProperty("value").GetDouble().ToString(CultureInfo.InvariantCulture) : "-")}/{f.GetProperty("message").GetString()}")
            .Order(StringComparer.Ordinal)];

    /// <summary>Events that break the rules the profile counts, within the last week: drift, a burst of nulls, amounts that do not add up.</summary>
    private static List<JsonObject> Problems(string store)
    {
        var b = new EventBuilder("dq");
        var at = EventBuilder.At(DateTimeOffset.UtcNow.AddHours(-30));
        b.Add("coupon_redeemed", at, "u-dq", "s-dq", properties: new JsonObject { ["code"] = "X" });
        b.Add("coupon_redeemed", at, "u-dq", "s-dq");
        b.Add("coupon_redeemed", EventBuilder.At(DateTimeOffset.UtcNow.AddHours(-3)), "u-dq", "s-dq");
        b.ProductView(at, "u-dq", "s-dq", store, "p-dq", "Thing")["properties"]!["colour"] = "red";
        b.PageView(at, "u-dq", "s-dq")["experiment"] = "b";
        for (var i = 0; i < 40; i++)
        {
            b.PageView(at, $"u-burst-{i}", session: null);
        }
        for (var i = 0; i < 4; i++)
        {
            b.Order(at, $"o-keyless-{i}", store, user: null, session: "s-dq");
        }
        b.Order(at, "o-dq-3", store, "u-dq", "s-dq", items: [("p-1", 2, 50m)])["properties"]!["subtotal"] = 90;
        b.Status(at, "o-dq-3", store, "ENTREGADO", total: 100)["properties"]!["snapshot"]!["total"] = 130;
        b.Payment(at, true, 120m, "u-dq", currency: "BRL", fx: null);
        return [.. b.Events];
    }

    /// <summary>An embedded hub and two cluster nodes on one ClickHouse and PostgreSQL, every event sent to the embedded hub and to one node in turn.</summary>
    private async Task<Hubs> HubsAsync(DemoOptions demo, bool plant)
    {
        var shared = await postgres.NewDatabaseAsync();
        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();
        var requests = ClusterData.DemoRequests(demo, linesPerRequest: 250);
        if (plant)
        {
            var store = requests.SelectMany(r => Encoding.UTF8.GetString(r).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                .Select(l => JsonDocument.Parse(l).RootElement).First(e => e.GetProperty("event_type").GetString() == "store_created")
                .GetProperty("properties").GetProperty("store_id").GetString()!;
            requests.Add(Encoding.UTF8.GetBytes(EventBuilder.Ndjson(Problems(store))));
        }
        var write = await ClusterData.CreateTokenAsync(_root["cli"], "write", "--source", "test", "--postgres", shared);
        var admin = await ClusterData.CreateTokenAsync(_root["cli"], "admin", "--postgres", shared);
        var embeddedWrite = await ClusterData.CreateTokenAsync(_root["embedded"], "write", "--source", "test");
        var embeddedAdmin = await ClusterData.CreateTokenAsync(_root["embedded"], "admin");
        var hubs = new Hubs(shared, clickHouse, clickHouseUrl, _root["embedded"], admin, embeddedAdmin);
        try
        {
            hubs.Processes.Add(await ServeProcess.StartAsync(null, "--data", _root["embedded"], "--no-scheduler"));
            foreach (var name in new[] { "a", "b" })
            {
                hubs.Processes.Add(await ServeProcess.StartAsync(null, "--data", _root[name], "--no-scheduler",
                    "--clickhouse", clickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", shared));
            }
            for (var i = 0; i < requests.Count; i++)
            {
                Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(hubs.Embedded, embeddedWrite, requests[i]));
                Assert.Equal(HttpStatusCode.OK, await ClusterData.PostNdjsonAsync(i % 2 == 0 ? hubs.A : hubs.B, write, requests[i]));
            }
            hubs.Sent.AddRange(requests.SelectMany(r => Encoding.UTF8.GetString(r).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                .Select(l => JsonDocument.Parse(l).RootElement.Clone()));
            // Every event written and in both nodes' projections: they answer what the embedded hub answers.
            var question = $"/api/kpi/query?metric=orders,gmv,sessions&start_date={demo.EndDate!.Value.AddDays(-demo.Days + 1):yyyy-MM-dd}&end_date={Today:yyyy-MM-dd}&aggregate=total";
            var expected = (await AccessHttp.GetJsonAsync(hubs.Embedded, question, embeddedAdmin)).GetProperty("data").ToString();
            foreach (var client in new[] { hubs.A, hubs.B })
            {
                await Wait.UntilAsync(async () => await AccessHttp.GetAsync(client, question, admin) is (HttpStatusCode.OK, var body)
                    && JsonDocument.Parse(body).RootElement.GetProperty("data").ToString() == expected, $"{client.BaseAddress} holds every event", seconds: 120);
            }
            Assert.Equal(hubs.Sent.Count, long.Parse((await ClusterData.ColumnAsync(clickHouse, "SELECT count() FROM events"))[0], CultureInfo.InvariantCulture));
            return hubs;
        }
        catch
        {
            await hubs.DisposeAsync();
            throw;
        }
    }

    private static long Count(PostgresState state, string sql) => MartStore.Postgres(state).Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    });

    /// <summary>The embedded hub (first) and nodes A and B, with an HTTP client each.</summary>
    private sealed class Hubs(string postgres, Engine.ClickHouse.ClickHouseClient clickHouse, string clickHouseUrl, string embeddedData, string admin, string embeddedAdmin) : IAsyncDisposable
    {
        private readonly List<HttpClient> _clients = [];

        public List<ServeProcess> Processes { get; } = [];

        public List<JsonElement> Sent { get; } = [];

        public string Postgres => postgres;

        public Engine.ClickHouse.ClickHouseClient ClickHouse => clickHouse;

        public string ClickHouseUrl => clickHouseUrl;

        public string EmbeddedData => embeddedData;

        public string Admin => admin;

        public string EmbeddedAdmin => embeddedAdmin;

        public HttpClient Embedded => Client(0);

        public HttpClient A => Client(1);

        public HttpClient B => Client(2);

        private HttpClient Client(int i)
        {
            while (_clients.Count <= i)
            {
                _clients.Add(new HttpClient { BaseAddress = new Uri(Processes[_clients.Count].Url), Timeout = TimeSpan.FromSeconds(60) });
            }
            return _clients[i];
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
            foreach (var process in Processes)
            {
                await process.DisposeAsync();
            }
        }
    }
}
