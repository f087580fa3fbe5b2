using System.Data.Common;
using System.Text;
using Atalaya.Engine.Config;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Atalaya.Engine.Webhooks;
using Atalaya.Tests.Connectors;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The connectors' and webhooks' own state (kept pages, dead letters, the webhook inbox, a run's
/// error class) asserted the same way on both places it can live: the data folder's SQLite
/// database and a cluster's PostgreSQL. Two stores on one backing play the node that wrote the
/// rows and another node reading them; a connector run against a local GA4 server goes through the
/// same JobRunner the scheduler and the CLI use.
/// </summary>
public sealed class ConnectorStateConformanceTests(PostgresServer server) : BackendConformance(server, "atalaya-connector-rows")
{
    private static readonly DateTimeOffset At = new(2026, 11, 20, 6, 30, 0, 123, TimeSpan.Zero);
    private static readonly DateOnly First = ConnectorSetup.Day("2026-11-01");

    [Theory]
    [MemberData(nameof(Backends))]
    public void Pages_kept_by_one_store_are_read_back_by_another_in_page_order_and_cannot_be_changed(string backend)
    {
        var writer = Rows(backend);
        var second = new RawPage(2, 200, "POST /v1beta/properties/1:runReport?offset=2", "application/json", Encoding.UTF8.GetBytes("{\"rows\":[2]}"));
        var first = new RawPage(1, 429, "POST /v1beta/properties/1:runReport", null, [0, 1, 2, 255]);
        writer.KeepPage("run_a", "ga4", "1", First, First.AddDays(2), second, At);
        writer.KeepPage("run_a", "ga4", "1", First, First.AddDays(2), first, At.AddSeconds(1));
        writer.KeepPage("run_a", "ga4", "2", First, First, first, At);
        writer.KeepPage("run_b", "ga4", "1", First, First, first, At);

        var kept = Rows(backend).Pages("run_a", "ga4", "1", First.AddDays(1));

        Assert.NotNull(kept);
        Assert.Equal((First, First.AddDays(2)), (kept.From, kept.To));
        Assert.Equal([1, 2], kept.Pages.Select(p => p.PageNo));
        Assert.Equal((429, "POST /v1beta/properties/1:runReport", (string?)null), (kept.Pages[0].HttpStatus, kept.Pages[0].Request, kept.Pages[0].ContentType));
        Assert.Equal(first.Body, kept.Pages[0].Body);
        Assert.Equal(("application/json", "{\"rows\":[2]}"), (kept.Pages[1].ContentType, Encoding.UTF8.GetString(kept.Pages[1].Body)));
        Assert.Null(Rows(backend).Pages("run_a", "ga4", "1", First.AddDays(3)));
        Assert.Null(Rows(backend).Pages("run_a", "meta_ads", "1", First));
        Assert.Single(Rows(backend).Pages("run_b", "ga4", "1", First)!.Pages);

        // Raw pages are append-only in both.
        var refused = Assert.ThrowsAny<DbException>(() => Execute(backend, "UPDATE connector_pages SET http_status = 200;"));
        Assert.Contains("append-only", refused.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<DbException>(() => Execute(backend, "DELETE FROM connector_pages;"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Dead_letters_are_listed_by_kind_and_provider_resolved_once_and_a_days_resolution_commits_with_its_transaction(string backend)
    {
        var writer = Rows(backend);
        var day = writer.AddDeadLetter(new NewDeadLetter("connector", "ga4", "123", First, "run_a", null, "schema", "the answer has no 'rows'"), At);
        var otherDay = writer.AddDeadLetter(new NewDeadLetter("connector", "ga4", "123", First.AddDays(1), "run_a", null, "transient", "503"), At);
        var meta = writer.AddDeadLetter(new NewDeadLetter("connector", "meta_ads", "1001", First, "run_m", null, "quota", "(#17)"), At.AddMinutes(1));
        var hook = writer.AddDeadLetter(new NewDeadLetter("webhook", "payments", "", null, null, 42, "mapping", "rejected by the catalog"), At.AddMinutes(2));
        Assert.True(day < otherDay && otherDay < meta && meta < hook);

        var reader = Rows(backend);
        var all = reader.DeadLetters();
        Assert.Equal(
            [
                new DeadLetter(day, "connector", "ga4", "123", First, "run_a", null, "schema", "the answer has no 'rows'", At, null, null),
                new DeadLetter(otherDay, "connector", "ga4", "123", First.AddDays(1), "run_a", null, "transient", "503", At, null, null),
                new DeadLetter(meta, "connector", "meta_ads", "1001", First, "run_m", null, "quota", "(#17)", At.AddMinutes(1), null, null),
                new DeadLetter(hook, "webhook", "payments", "", null, null, 42, "mapping", "rejected by the catalog", At.AddMinutes(2), null, null),
            ], all);
        Assert.Equal([day, otherDay], reader.DeadLetters("connector", "ga4").Select(l => l.Id));
        Assert.Equal([hook], reader.DeadLetters("webhook").Select(l => l.Id));

        Assert.True(reader.Resolve(hook, "replay", At.AddHours(1)));
        Assert.False(writer.Resolve(hook, "replay again", At.AddHours(2)));
        Assert.Empty(reader.DeadLetters("webhook"));
        var resolved = Assert.Single(reader.DeadLetters("webhook", all: true));
        Assert.Equal((At.AddHours(1), "replay"), (resolved.ResolvedAt, resolved.ResolvedBy));

        // A day is resolved inside the transaction that writes its facts: rolled back, it stays open; committed, it is resolved.
        var marts = Marts(backend);
        marts.Run(connection =>
        {
            using var transaction = connection.BeginTransaction();
            Assert.Equal(1, ConnectorRow.ResolveDay(connection, transaction, "ga4", "123", First, "run_r", At.AddHours(3)));
            transaction.Rollback();
            return 0;
        });
        Assert.Equal([day, otherDay, meta], reader.DeadLetters("connector").Select(l => l.Id));
        marts.Run(connection =>
        {
            using var transaction = connection.BeginTransaction();
            ConnectorRow.ResolveDay(connection, transaction, "ga4", "123", First, "run_r", At.AddHours(3));
            transaction.Commit();
            return 0;
        });
        Assert.Equal([otherDay, meta], reader.DeadLetters("connector").Select(l => l.Id));
        Assert.Equal("run_r", reader.DeadLetters(all: true).Single(l => l.Id == day).ResolvedBy);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_webhook_body_is_stored_once_per_signature_and_its_state_and_body_are_read_by_another_store(string backend)
    {
        var inbox = Inbox(backend);
        var body = Encoding.UTF8.GetBytes("{\"id\":\"evt_1\"}");

        var stored = inbox.Store("payments", 1_764_000_000, "t=1764000000,v1=ab", body, At);
        Assert.True(stored.New);
        Assert.Equal("stored", stored.Status);

        // Another delivery of the same signature finds it, still unprocessed, then processed.
        var again = Inbox(backend).Store("payments", 1_764_000_000, "t=1764000000,v1=ab", [9], At.AddSeconds(5));
        Assert.Equal(new StoredWebhook(stored.Id, false, "stored"), again);
        Inbox(backend).SetState(stored.Id, "mapped", 3);
        Assert.Equal(new StoredWebhook(stored.Id, false, "mapped"), inbox.Store("payments", 1_764_000_000, "t=1764000000,v1=ab", body, At));
        // The same signature from another provider is another body.
        Assert.True(inbox.Store("orders", 1_764_000_000, "t=1764000000,v1=ab", [1], At).New);

        Assert.Equal(body, Inbox(backend).Body(stored.Id));
        Assert.Null(Inbox(backend).Body(stored.Id + 1000));
        Assert.ThrowsAny<DbException>(() => Execute(backend, "UPDATE webhook_inbox SET body = body;"));
        Assert.ThrowsAny<DbException>(() => Execute(backend, "DELETE FROM webhook_inbox;"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_schema_failure_keeps_its_pages_and_class_where_the_hub_keeps_its_state_and_a_replay_from_another_store_reads_them(string backend)
    {
        await using var ga4 = await FakeGa4.StartAsync();
        using var setup = new ConnectorSetup { State = backend == "sqlite" ? null : JobState.Shared(Open()) };
        IConnectorRows reader = ConnectorRows.For(setup.Database, backend == "sqlite" ? null : Open());
        var credentials = setup.Secret("ga4.json", ga4.ServiceAccountJson());
        for (var i = 0; i < 2; i++)
        {
            ga4.Set("123456", First.AddDays(i), ("sessions", 100 + i), ("activeUsers", 80 + i), ("newUsers", 10 + i));
        }
        ga4.RenamedMetrics = ["sessions", "active1DayUsers", "newUsers"];

        var run = setup.Run(Ga4Config(ga4, credentials, "[sessions, activeUsers, newUsers]"), "ga4", First, First.AddDays(1));

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("schema", run.ErrorClass);
        Assert.Equal([First, First.AddDays(1)], reader.DeadLetters("connector", "ga4").Select(l => l.Day!.Value));
        Assert.All(reader.DeadLetters(), l => Assert.Equal((run.RunId, "schema"), (l.RunId, l.ErrorClass)));
        Assert.Single(reader.Pages(run.RunId, "ga4", "123456", First)!.Pages);
        // On PostgreSQL the data folder holds none of it: not the run, not its class, not the pages or dead letters.
        Assert.Equal(backend == "sqlite" ? 1 : 0, setup.Count("SELECT count(*) FROM connector_pages"));
        Assert.Equal(backend == "sqlite" ? 2 : 0, setup.Count("SELECT count(*) FROM dead_letters"));
        Assert.Equal(backend == "sqlite" ? 1 : 0, setup.Count("SELECT count(*) FROM pipeline_runs WHERE error_class = 'schema'"));
        var hits = ga4.Server.Hits("report");

        // Another process on the same state (a second node, or the CLI with --postgres) replays from the kept page.
        using var otherNode = backend == "sqlite" ? null : new ConnectorSetup { State = JobState.Shared(Open()) };
        var replay = (otherNode ?? setup).Replay(Ga4Config(ga4, credentials, "[sessions, active1DayUsers, newUsers]"), "ga4");

        Assert.Equal(RunStatus.Success, replay.Status);
        Assert.Null(replay.ErrorClass);
        Assert.Equal(hits, ga4.Server.Hits("report"));
        Assert.Contains("reprocessed from the 1 kept page(s), not fetched", replay.Details, StringComparison.Ordinal);
        Assert.Empty(reader.DeadLetters());
        Assert.All(reader.DeadLetters(all: true), l => Assert.Equal(replay.RunId, l.ResolvedBy));
        var facts = (backend == "sqlite" ? MartStore.Sqlite(setup.Database) : MartStore.Postgres(Open())).Run(connection =>
        {
            using var command = PortableSql.Command(connection, "SELECT date || ' ' || metric || ' ' || CAST(value AS text) FROM fact_kpi_daily WHERE source_system = 'ga4' ORDER BY 1;");
            using var rows = command.ExecuteReader();
            var list = new List<string>();
            while (rows.Read())
            {
                list.Add(rows.GetString(0));
            }
            return list;
        });
        Assert.Equal(6, facts.Count);
        Assert.Contains(facts, f => f.StartsWith("2026-11-02 active1_day_users 81", StringComparison.Ordinal));
        var runs = backend == "sqlite" ? JobState.Embedded(setup.Database).Runs : JobState.Shared(Open()).Runs;
        Assert.Equal("schema", runs.Get(run.RunId)!.ErrorClass);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_scheduled_run_also_fetches_the_days_no_recorded_run_covered_at_most_a_week_back(string backend)
    {
        await using var ga4 = await FakeGa4.StartAsync();
        using var setup = new ConnectorSetup { State = backend == "sqlite" ? null : JobState.Shared(Open()) };
        var credentials = setup.Secret("ga4.json", ga4.ServiceAccountJson());
        for (var i = 0; i < 30; i++)
        {
            ga4.Set("123456", First.AddDays(i), ("sessions", 100 + i), ("activeUsers", 80 + i), ("newUsers", 10 + i));
        }
        var config = Ga4Config(ga4, credentials, "[sessions]");
        var clock = new Connectors.MovableClock(new DateTimeOffset(First.AddDays(1), new TimeOnly(3, 0), TimeSpan.Zero));
        string Range(PipelineRun run)
        {
            using var details = System.Text.Json.JsonDocument.Parse(run.Details);
            var step = Assert.Single(details.RootElement.GetProperty("steps").EnumerateArray());
            return step.GetProperty("from").GetString() + ".." + step.GetProperty("to").GetString();
        }

        // The first scheduled run: yesterday only.
        Assert.Equal("2026-11-01..2026-11-01", Range(setup.Scheduled(config, "ga4", clock)));
        // The hub was down for two scheduled times: the next run fetches the three days since.
        clock.Now = clock.Now.AddDays(3);
        Assert.Equal("2026-11-02..2026-11-04", Range(setup.Scheduled(config, "ga4", clock)));
        // A run cut short before it recorded its units (the shared state went away, a kill) covers nothing.
        var runs = backend == "sqlite" ? JobState.Embedded(setup.Database).Runs : JobState.Shared(Open()).Runs;
        clock.Now = clock.Now.AddDays(1);
        runs.Start(new PipelineRun("run_cut", "connector_ga4", "ga4", clock.Now, null, RunStatus.Running, 0, null, "schedule", "{}"));
        Assert.True(runs.FailIfRunning("run_cut", clock.Now, "the process stopped during the run"));
        clock.Now = clock.Now.AddDays(1);
        Assert.Equal("2026-11-05..2026-11-06", Range(setup.Scheduled(config, "ga4", clock)));
        // A manual run does not count; after three weeks away, a week is caught up.
        setup.Run(config, "ga4", First.AddDays(20), First.AddDays(20), time: clock);
        clock.Now = clock.Now.AddDays(21);
        Assert.Equal("2026-11-20..2026-11-27", Range(setup.Scheduled(config, "ga4", clock)));
        // Every day from 1 to 6 November and from 20 to 27 (the manual run's 21st among them), one metric each.
        Assert.Equal(6 + 8, Marts(backend == "sqlite" ? setup : null).Run(connection =>
        {
            using var command = PortableSql.Command(connection, "SELECT count(*) FROM fact_kpi_daily WHERE source_system = 'ga4';");
            return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }));
    }

    private MartStore Marts(ConnectorSetup? sqlite) => sqlite is null ? MartStore.Postgres(Open()) : MartStore.Sqlite(sqlite.Database);

    private static EnvironmentConfig Ga4Config(FakeGa4 ga4, string credentials, string metrics) => ConnectorSetup.Config($$"""
          ga4:
            base_url: {{ga4.Server.Url}}
            token_url: {{ga4.TokenUrl}}
            credentials_file_env: {{credentials}}
            properties:
              - {property_id: "123456", app_id: shop-web, platform: web}
            metrics: {{metrics}}
            max_retries: 0
        """);

    private PostgresState Open()
    {
        var state = OpenState();
        return state;
    }

    private IConnectorRows Rows(string backend) => backend == "sqlite" ? ConnectorRows.For(Database(), null) : ConnectorRows.Shared(Open());

    private IWebhookInbox Inbox(string backend) => WebhookInbox.For(Database(), backend == "sqlite" ? null : Open());

    private MartStore Marts(string backend) => backend == "sqlite" ? MartStore.Sqlite(Database()) : MartStore.Postgres(Open());

    private void Execute(string backend, string sql) => Marts(backend).Run(connection =>
    {
        using var command = PortableSql.Command(connection, sql);
        return command.ExecuteNonQuery();
    });

    private HubDatabase Database() => HubDatabase.Open(Folder.Path);
}
