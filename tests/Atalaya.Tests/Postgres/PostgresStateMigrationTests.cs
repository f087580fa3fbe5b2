using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Reports;
using Atalaya.Engine.Storage;
using Atalaya.Engine.Webhooks;
using Atalaya.Tests.Access;
using Atalaya.Tests.Cluster;
using Atalaya.Tests.Support;
using Npgsql;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// <c>atalaya migrate --to-cluster --postgres</c> (real ClickHouse, RabbitMQ and PostgreSQL on
/// 127.0.0.1): an embedded folder's keys, alerts, reports, dead letters and webhook bodies reach the
/// cluster's PostgreSQL, where a <c>--postgres</c> node uses them; a second run copies nothing; a run
/// cut off half way finishes on the next; the audit chain stays verifiable on both sides; a row
/// PostgreSQL holds with other content is reported with exit code 1 and everything else is copied.
/// </summary>
public sealed class PostgresStateMigrationTests(ClusterServers cluster, PostgresServer postgres)
    : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>, IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 11, 20, 6, 30, 0, 123, TimeSpan.Zero);
    private readonly TempDirectory _root = new("atalaya-state-migration");

    private string Folder => _root["folder"];

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Keys_alerts_reports_and_dead_letters_work_on_a_postgres_node_after_the_migration_and_a_second_run_copies_nothing()
    {
        var shared = await postgres.NewDatabaseAsync();
        var clickHouse = await cluster.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(cluster.ClickHouse.Url, clickHouse.Database).ToString();
        string writeKey, adminKey, alertId, reportId;
        long webhookId;
        byte[] reportBytes;
        await using (var hub = Hub.Open(Folder))
        {
            writeKey = hub.Tokens.Create(new TokenRequest(Role.Write, "web", Source: "web")).Secret;
            adminKey = hub.Tokens.Create(new TokenRequest(Role.Admin, "ops")).Secret;
            AuditLog.AppendNow(hub.Database,
                new AuditEntry(At, "tok_1", "admin", "tokens.create", "{}", "{}", "{}", 1, 200),
                new AuditEntry(At.AddMinutes(1), "tok_1", "admin", "GET /api/alerts", "{}", "{}", "{}", 3, 200));
            var alert = new Alert("alr_20261120T063000Z_abcdef", "mx-gmv", "", "critical", "firing", At, null, 120.5, 1000,
                new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["country"] = ["MX"] }, "gmv for country MX is low", null, null, At);
            alertId = alert.AlertId;
            hub.Fx.Save(hub.FxRows, [(new DateOnly(2026, 11, 19), "MXN", 0.0551m)]);
            AlertRows.Of(hub.Database, null).Apply(_ => new AlertChanges(At, [alert], [], [], [("ops", new Notification("GMV low", "MX") { AlertId = alert.AlertId })]));
            var period = ReportPeriod.For(ReportKind.Weekly, new DateOnly(2026, 11, 19));
            reportId = ReportBuilder.Id(ReportKind.Weekly, period, ReportScope.Country("MX"), "es-MX");
            reportBytes = Encoding.UTF8.GetBytes("<html>semana</html>");
            new ReportStore(hub.Database).Save(new ReportFile(reportId, ReportKind.Weekly, period, ReportScope.Country("MX"), "es-MX", reportId + ".html",
                "text/html; charset=utf-8", reportBytes, []), At, null);
            webhookId = WebhookInbox.For(hub.Database, null).Store("orders", 1_764_000_000, "t=1764000000,v1=folder", Encoding.UTF8.GetBytes("{\"id\":1}"), At).Id;
            var connectors = ConnectorRows.For(hub.Database, null);
            connectors.AddDeadLetter(new NewDeadLetter("connector", "ga4", "123", new DateOnly(2026, 11, 18), "run_ga4", null, "schema", "the answer has no 'rows'"), At);
            connectors.AddDeadLetter(new NewDeadLetter("webhook", "orders", "", null, null, webhookId, "mapping", "rejected by the catalog"), At);
            using var connection = hub.Database.Connect();
            using var facts = connection.CreateCommand();
            // A connector's figure (copied: nothing rebuilds it) and an event KPI (left for the nodes' daily_batch to rebuild).
            facts.CommandText = """
                INSERT INTO fact_kpi_daily (date, app_id, platform, source_system, metric, value, kpi_version, run_id, currency)
                VALUES ('2026-11-18', 'app', 'web', 'meta_ads', 'ad_spend', 1234.5, 1, 'run_meta', 'MXN'),
                       ('2026-11-18', 'app', 'web', 'web', 'gmv', 99.0, 1, 'run_batch', NULL);
                """;
            facts.ExecuteNonQuery();
        }
        // The cluster took a webhook of its own before: the folder's body gets another id there, and its dead letter follows it.
        using (var state = PostgresState.Open(shared))
        {
            WebhookInbox.For(HubDatabase.Open(Directory.CreateDirectory(_root["other"]).FullName), state).Store("orders", 1_764_000_001, "t=1764000001,v1=cluster", [1], At);
        }

        var (exit, stdout, stderr) = await MigrateAsync(shared, clickHouseUrl);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("tokens: 2 rows, 2 copied, 0 there already.", stdout, StringComparison.Ordinal);
        Assert.Contains("Not copied: the marts and the event KPIs of fact_kpi_daily", stdout, StringComparison.Ordinal);
        var counts = await CountsAsync(shared);
        Assert.Equal(2, counts["tokens"]);
        Assert.Equal(2, counts["audit_log"]);
        Assert.Equal(2, counts["webhook_inbox"]);
        Assert.Equal(2, counts["dead_letters"]);
        Assert.Equal(1, counts["notification_outbox"]);
        Assert.Equal(["2026-11-19 MXN 0.0551"], await PostgresServer.ColumnAsync(shared, "SELECT day || ' ' || currency || ' ' || rate FROM fx_rates"));
        Assert.Equal(["meta_ads ad_spend 1234.5 MXN"], await PostgresServer.ColumnAsync(shared, "SELECT source_system || ' ' || metric || ' ' || value || ' ' || currency FROM fact_kpi_daily"));
        var clusterBodyId = (long)(await PostgresServer.ColumnAsync(shared, "SELECT id FROM webhook_inbox WHERE signature = 't=1764000000,v1=folder'")).Single()!;
        Assert.NotEqual(webhookId, clusterBodyId);
        Assert.Equal(clusterBodyId, (await PostgresServer.ColumnAsync(shared, "SELECT webhook_id FROM dead_letters WHERE kind = 'webhook'")).Single());

        // The copied chain is the folder's, entry for entry: it verifies.
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("audit", "verify", "--postgres", shared);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("2 entries", stdout, StringComparison.Ordinal);

        using (var state = PostgresState.Open(shared))
        {
            var node = ClusterNode.Create(clickHouseUrl, cluster.Rabbit.Uri.ToString());
            await using var hub = await TestHub.StartAsync(o => o with { Cluster = node, Postgres = state, RunScheduler = false, RunAlerts = false });
            await Wait.UntilAsync(() => node.Answering, "the node started", seconds: 120);
            // The node collects with the folder's rates, now the cluster's.
            Assert.True(hub.Hub.Fx.TryGet("MXN", new DateOnly(2026, 11, 20), out var rate) && rate == 0.0551m);
            using (var events = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString(), key: writeKey))
            {
                Assert.Equal(HttpStatusCode.OK, events.StatusCode);
            }
            var alerts = (await AccessHttp.GetJsonAsync(hub.Client, "/api/alerts", adminKey)).GetProperty("data");
            Assert.Equal([alertId], alerts.EnumerateArray().Select(a => a.GetProperty("alert_id").GetString()));
            var reports = (await AccessHttp.GetJsonAsync(hub.Client, "/api/reports", adminKey)).GetProperty("data");
            Assert.Equal([reportId], reports.EnumerateArray().Select(r => r.GetProperty("id").GetString()));
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/reports/" + reportId);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminKey);
            using var download = await hub.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(reportBytes, await download.Content.ReadAsByteArrayAsync());
        }
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("connectors", "dead-letters", "--postgres", shared, "--data", _root["cli"]);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("the answer has no 'rows'", stdout, StringComparison.Ordinal);

        // Again: nothing copied twice (the node's own rows since then stay as they are).
        var before = await CountsAsync(shared);
        (exit, stdout, stderr) = await MigrateAsync(shared, clickHouseUrl);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("tokens: 2 rows, 0 copied, 2 there already.", stdout, StringComparison.Ordinal);
        Assert.Equal(before, await CountsAsync(shared));
    }

    [Fact]
    public async Task A_conflicting_token_is_reported_with_exit_1_everything_else_is_copied_and_an_own_audit_chain_gets_one_entry_naming_the_folder()
    {
        var shared = await postgres.NewDatabaseAsync();
        string kept, copied;
        await using (var hub = Hub.Open(Folder))
        {
            kept = hub.Tokens.Create(new TokenRequest(Role.Admin, "ops")).Token.Id;
            copied = hub.Tokens.Create(new TokenRequest(Role.Write, "web", Source: "web")).Token.Id;
            AuditLog.AppendNow(hub.Database, [.. Enumerable.Range(0, 3).Select(i => new AuditEntry(At.AddMinutes(i), "tok_1", "admin", "GET /api/kpi/query", "{}", "{}", "{}", i, 200))]);
            ConnectorRows.For(hub.Database, null).AddDeadLetter(new NewDeadLetter("connector", "ga4", "123", new DateOnly(2026, 11, 18), "run_ga4", null, "schema", "no rows"), At);
        }
        using (var connection = HubDatabase.Open(Folder).Connect())
        using (var erasures = connection.CreateCommand())
        {
            // A finished erasure (copied) and one a crash left pending (its plan names the folder's blocks: reported, not copied).
            erasures.CommandText = """
                INSERT INTO privacy_erasures (erasure_id, person_hash, requested_at, completed_at, state, cut_seq, plan)
                VALUES ('era_done', 'sha256:bb', '2026-11-20T06:00:00Z', '2026-11-20T06:00:01Z', 'done', 10, NULL),
                       ('era_pending', 'sha256:aa', '2026-11-20T06:30:00Z', NULL, 'pending', 12, '{}');
                """;
            erasures.ExecuteNonQuery();
        }
        using (var state = PostgresState.Open(shared))
        {
            // The cluster's own chain, and a token of its own under the folder's token id.
            AuditLog.AppendNow(state, new AuditEntry(At, "cli:ops", "cli", "tokens.create", "{}", "{}", "{}", 1, 0), new AuditEntry(At, "cli:ops", "cli", "tokens.revoke", "{}", "{}", "{}", 1, 0));
            await ExecuteAsync(shared, $"INSERT INTO tokens (id, name, role, secret_hash, created_at) VALUES ('{kept}', 'someone else', 'analyst', '\\x{new string('a', 64)}', 1)");
        }
        var folderHead = FolderAuditHead();

        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("migrate", "--to-cluster", "--data", Folder, "--clickhouse", cluster.ClickHouse.Url.ToString(),
            "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", shared);
        Assert.True(exit == 1, stdout + stderr);
        Assert.Contains($"conflict: tokens id={kept}: PostgreSQL holds it with another name, role, secret_hash", stderr, StringComparison.Ordinal);
        Assert.Contains("delete PostgreSQL's row", stderr, StringComparison.Ordinal);
        Assert.Equal(["someone else"], await PostgresServer.ColumnAsync(shared, $"SELECT name FROM tokens WHERE id = '{kept}'"));
        Assert.Equal(["web"], await PostgresServer.ColumnAsync(shared, $"SELECT name FROM tokens WHERE id = '{copied}'"));
        Assert.Equal(["no rows"], await PostgresServer.ColumnAsync(shared, "SELECT reason FROM dead_letters"));
        Assert.Contains("conflict: privacy_erasures erasure_id=era_pending: the erasure is still pending", stderr, StringComparison.Ordinal);
        Assert.Equal(["era_done"], await PostgresServer.ColumnAsync(shared, "SELECT erasure_id FROM privacy_erasures"));

        // The folder's chain stays in the folder; PostgreSQL's gets one entry naming it, and both verify.
        var audit = await PostgresServer.ColumnAsync(shared, $"SELECT params FROM audit_log WHERE action = '{StateMigration.AuditKeptAction}'");
        var named = JsonDocument.Parse((string)Assert.Single(audit)!).RootElement;
        Assert.Equal(Path.GetFullPath(Folder), named.GetProperty("folder").GetString());
        Assert.Equal(3, named.GetProperty("entries").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(folderHead), named.GetProperty("head_hash").GetString());
        Assert.Equal(3L, (await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM audit_log")).Single());
        using (var state = PostgresState.Open(shared))
        {
            Assert.True(AuditLog.Verify(state).Intact);
        }
        using (var connection = HubDatabase.Open(Folder).Connect())
        {
            var folderChain = AuditLog.Verify(connection);
            Assert.True(folderChain.Intact);
            Assert.Equal(3, folderChain.Checked);
        }

        // Again: the same conflict, no second entry.
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("migrate", "--to-cluster", "--data", Folder, "--clickhouse", cluster.ClickHouse.Url.ToString(),
            "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", shared);
        Assert.True(exit == 1, stdout + stderr);
        Assert.Equal(3L, (await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM audit_log")).Single());
        Assert.Equal(1L, (await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM dead_letters")).Single());
    }

    [Fact]
    public async Task A_run_cut_off_half_way_finishes_on_the_next_keeping_identical_rows_and_the_copied_audit_chain_verifies()
    {
        var shared = await postgres.NewDatabaseAsync();
        await using (var hub = Hub.Open(Folder))
        {
            for (var i = 0; i < 5; i++)
            {
                hub.Tokens.Create(new TokenRequest(Role.Analyst, "analyst " + i.ToString(CultureInfo.InvariantCulture)));
            }
            AuditLog.AppendNow(hub.Database, [.. Enumerable.Range(0, 7).Select(i => new AuditEntry(At.AddMinutes(i), "tok_1", "admin", "GET /api/kpi/query", "{}", "{}", "{}", i, 200))]);
            using var connection = hub.Database.Connect();
            using var command = connection.CreateCommand();
            // Two requests refused in the same millisecond with the same counts: two rows alike, both kept.
            command.CommandText = """
                INSERT INTO quarantine_overflow (received_at, source_system, rejected, kept) VALUES (1764000000000, 'web', 30, 10), (1764000000000, 'web', 30, 10), (1764000000001, 'web', 5, 10);
                """;
            command.ExecuteNonQuery();
        }
        using var state = PostgresState.Open(shared);
        var migration = new StateMigration(Folder, state) { BatchRows = 2 };
        foreach (var table in new[] { "tokens", "audit_log", "quarantine_overflow" })
        {
            using var cut = new CancellationTokenSource();
            Assert.ThrowsAny<OperationCanceledException>(() => migration.Copy(table, n =>
            {
                if (n > 0)
                {
                    cut.Cancel(); // after the first batch is committed
                }
            }, cut.Token));
        }
        Assert.Equal(2L, (await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM tokens")).Single());
        Assert.Equal(2L, (await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM audit_log")).Single());
        Assert.Equal(2L, (await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM quarantine_overflow")).Single());

        var finished = migration.Run(null, CancellationToken.None).ToDictionary(o => o.Table);
        Assert.Equal((5, 3, 2), (finished["tokens"].Rows, finished["tokens"].Copied, finished["tokens"].AlreadyThere));
        Assert.Equal((7, 5, 2), (finished["audit_log"].Rows, finished["audit_log"].Copied, finished["audit_log"].AlreadyThere));
        Assert.Equal((3, 1, 2), (finished["quarantine_overflow"].Rows, finished["quarantine_overflow"].Copied, finished["quarantine_overflow"].AlreadyThere));
        Assert.Empty(finished.Values.SelectMany(o => o.Conflicts));
        Assert.Equal([30, 30, 5], (await PostgresServer.ColumnAsync(shared, "SELECT rejected FROM quarantine_overflow ORDER BY received_at, rejected DESC")).Select(Convert.ToInt32));
        var chain = AuditLog.Verify(state);
        Assert.True(chain.Intact);
        Assert.Equal(7, chain.Checked);
        Assert.Equal(FolderAuditHead(), (byte[])(await PostgresServer.ColumnAsync(shared, "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")).Single()!);

        var third = migration.Run(null, CancellationToken.None);
        Assert.All(third, o => Assert.Equal(0, o.Copied));
        Assert.Equal(7L, (await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM audit_log")).Single());
    }

    [Fact]
    public async Task Postgres_going_away_midway_stops_the_copy_with_what_it_committed_and_the_next_run_finishes()
    {
        var shared = await postgres.NewDatabaseAsync();
        await using (var hub = Hub.Open(Folder))
        {
            for (var i = 0; i < 6; i++)
            {
                ConnectorRows.For(hub.Database, null).AddDeadLetter(new NewDeadLetter("connector", "ga4", "123", new DateOnly(2026, 11, 1).AddDays(i), "run_ga4", null, "transient", "503"), At);
            }
        }
        using (var state = PostgresState.Open(shared))
        {
            var migration = new StateMigration(Folder, state) { BatchRows = 2 };
            try
            {
                Assert.Throws<StateUnavailableException>(() => migration.Copy("dead_letters", n =>
                {
                    if (n == 2)
                    {
                        postgres.PauseAsync().GetAwaiter().GetResult(); // after the first batch is committed
                    }
                }, CancellationToken.None));
            }
            finally
            {
                await postgres.ResumeAsync();
            }
        }
        Assert.Equal(2L, (await PostgresServer.ColumnAsync(shared, "SELECT count(*) FROM dead_letters")).Single());

        using (var state = PostgresState.Open(shared))
        {
            var outcome = new StateMigration(Folder, state) { BatchRows = 2 }.Copy("dead_letters", null, CancellationToken.None);
            Assert.Equal((6, 4, 2), (outcome.Rows, outcome.Copied, outcome.AlreadyThere));
        }
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (object?)$"2026-11-{i:00}"),
            await PostgresServer.ColumnAsync(shared, "SELECT day FROM dead_letters ORDER BY day"));
    }

    [Fact]
    public async Task Postgres_unreachable_is_exit_2_with_how_to_fix_and_nothing_published()
    {
        await using (var hub = Hub.Open(Folder))
        {
            hub.Tokens.Create(new TokenRequest(Role.Admin, "ops"));
        }
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("migrate", "--to-cluster", "--data", Folder, "--clickhouse", cluster.ClickHouse.Url.ToString(),
            "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", "Host=127.0.0.1;Port=1;Username=atalaya;Password=x;Database=atalaya;Timeout=3");
        Assert.True(exit == 2, stdout + stderr);
        Assert.Contains("Start the server", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Folder, ClusterMigration.CheckpointFile)));
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> MigrateAsync(string shared, string clickHouseUrl) =>
        AtalayaProcess.RunAsync("migrate", "--to-cluster", "--data", Folder, "--clickhouse", clickHouseUrl, "--rabbitmq", cluster.Rabbit.Uri.ToString(), "--postgres", shared);

    private byte[] FolderAuditHead()
    {
        using var connection = HubDatabase.Open(Folder).Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1;";
        return (byte[])command.ExecuteScalar()!;
    }

    private static async Task<Dictionary<string, long>> CountsAsync(string shared)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (table, _) in StateMigration.Tables.Select(t => (t.Name, 0)))
        {
            counts[table] = (long)(await PostgresServer.ColumnAsync(shared, $"SELECT count(*) FROM {table}")).Single()!;
        }
        return counts;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
