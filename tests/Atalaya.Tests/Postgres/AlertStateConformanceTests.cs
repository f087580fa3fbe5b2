using System.Data.Common;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Slo;
using Atalaya.Tests.Alerts;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The alerts, the notification outbox and the SLO counts, asserted the same way on both places
/// their rows can live: the data folder's SQLite database and a cluster's PostgreSQL. A second
/// engine, dispatcher or writer on the same rows plays another node (on PostgreSQL, through its
/// own connection pool): it continues the first one's episodes and sends nothing twice. The clock
/// is moved, never waited for.
/// </summary>
public sealed class AlertStateConformanceTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 15, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _folder = new("atalaya-alert-conformance");
    private readonly List<PostgresState> _opened = [];
    private readonly ManualClock _clock = new(Now);
    private readonly string _secretVariable = "ATALAYA_TEST_SECRET_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private Hub? _hub;
    private string _postgres = "";

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    public async Task InitializeAsync()
    {
        _postgres = await server.NewDatabaseAsync();
        Environment.SetEnvironmentVariable(_secretVariable, "k3y-" + Guid.NewGuid().ToString("N"));
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_secretVariable, null);
        _http.Dispose();
        if (_hub is not null)
        {
            await _hub.DisposeAsync();
        }
        _opened.ForEach(s => s.Dispose());
        _folder.Dispose();
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void An_alert_fires_once_is_continued_by_another_node_renotifies_unless_acknowledged_and_resolves(string backend)
    {
        var rows = Rows(backend);
        var otherNode = Rows(backend);
        // The built-in rule watches the outbox itself: a dead-lettered message makes it fire.
        rows.Enqueue([("ops", new Notification("t", "x"))], Now);
        var id = Assert.Single(rows.Outbox("pending")).Id;
        rows.MarkDead(id, 4, "ops: the receiver answered 503");
        Assert.Empty(rows.Outbox("pending"));

        var engine = NewEngine(rows);
        Assert.Equal((1, 0, 0, 1), Counts(engine.Evaluate()));
        var alert = Assert.Single(otherNode.Recent(null, 100));
        Assert.Equal(("notifications-dead-lettered", "", "warning", "firing", 1.0, 0.0, Now, (DateTimeOffset?)Now),
            (alert.Rule, alert.Subject, alert.Severity, alert.State, alert.Value, alert.Threshold, alert.StartedAt, alert.LastNotifiedAt));
        var fired = Assert.Single(otherNode.Outbox("pending"));
        Assert.Equal(("ops", alert.AlertId, "[WARNING] notifications-dead-lettered", "firing"),
            (fired.Channel, fired.AlertId, fired.Notification.Title, fired.Notification.Status));
        Assert.Equal(1, otherNode.FiringBySeverity()["warning"]);
        Assert.Equal(0, otherNode.FiringBySeverity()["critical"]);

        // Another node takes the evaluation over: it finds the episode firing and neither fires nor sends it again.
        var takeover = NewEngine(otherNode);
        Assert.Equal((0, 0, 0, 1), Counts(takeover.Evaluate()));
        Assert.Equal(alert.AlertId, Assert.Single(rows.Recent("firing", 100)).AlertId);
        Assert.Single(rows.Outbox("pending"));

        _clock.Advance(TimeSpan.FromMinutes(61)); // past renotify_every (1h)
        Assert.Equal(1, takeover.Evaluate().Renotified);
        var pending = rows.Outbox("pending");
        Assert.Equal(2, pending.Count);
        Assert.Equal("[WARNING] notifications-dead-lettered still firing", pending[1].Notification.Title);
        Assert.Equal(_clock.GetUtcNow(), rows.Get(alert.AlertId)!.LastNotifiedAt);

        // Acknowledged through one node, it is not sent again by the other.
        Assert.True(takeover.Acknowledge(alert.AlertId, "tok_lead", AccessScope.Everything));
        Assert.False(takeover.Acknowledge("alr_missing", "tok_lead", AccessScope.Everything));
        Assert.True(rows.Ack(alert.AlertId, "tok_other", _clock.GetUtcNow().AddMinutes(5))); // the first acknowledgement stands
        var acked = rows.Get(alert.AlertId)!;
        Assert.Equal(("tok_lead", (DateTimeOffset?)_clock.GetUtcNow()), (acked.AckedBy, acked.AckedAt));
        _clock.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(0, engine.Evaluate().Renotified);
        Assert.Equal(2, rows.Outbox("pending").Count);

        // Replayed and sent: the dead letter is gone, the alert resolves with its message.
        Assert.Equal(1, otherNode.Requeue(null));
        rows.MarkSent(id, 1, _clock.GetUtcNow());
        Assert.Equal((0, 0, 1, 0), Counts(engine.Evaluate()));
        var resolved = Assert.Single(otherNode.Recent("resolved", 100));
        Assert.Equal(("resolved", (DateTimeOffset?)_clock.GetUtcNow()), (resolved.State, resolved.ResolvedAt));
        Assert.Empty(otherNode.Recent("firing", 100));
        Assert.Equal("[RESOLVED] notifications-dead-lettered", rows.Outbox("pending")[^1].Notification.Title);
        Assert.Equal(0, rows.FiringBySeverity()["warning"]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Every_field_reads_back_one_firing_row_per_rule_and_subject_and_a_refused_cycle_writes_nothing(string backend)
    {
        var rows = Rows(backend);
        var scoped = new Alert("alr_20261120T150000Z_aaaaaa", "mx-gmv", "", "critical", "firing", Now, null, double.NaN, 1000,
            new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["country"] = ["MX"], ["store"] = ["st-1", "st-2"] },
            "gmv for country MX is low", null, null, Now);
        var older = scoped with { AlertId = "alr_20261120T140000Z_bbbbbb", Rule = "batch-missed", Subject = "daily_batch", Severity = "info", StartedAt = Now.AddHours(-1), Value = 26.5, Scope = new Dictionary<string, IReadOnlyList<string>>() };
        rows.Apply(firing =>
        {
            Assert.Empty(firing);
            return new AlertChanges(Now, [scoped, older], [], [], [("ops", new Notification("a", "b") { AlertId = scoped.AlertId })]);
        });

        var read = rows.Get(scoped.AlertId)!;
        Assert.Null(read.Value); // NaN is not a measurement
        Assert.Equal((scoped.Rule, scoped.Severity, scoped.StartedAt, scoped.Threshold, scoped.Message, scoped.LastNotifiedAt),
            (read.Rule, read.Severity, read.StartedAt, read.Threshold, read.Message, read.LastNotifiedAt));
        Assert.Equal(["MX"], read.Scope["country"]);
        Assert.Equal(["st-1", "st-2"], read.Scope["store"]);
        Assert.Equal(26.5, rows.Get(older.AlertId)!.Value);
        Assert.Equal([scoped.AlertId, older.AlertId], rows.Recent(null, 10).Select(a => a.AlertId)); // newest first
        Assert.Equal([scoped.AlertId], rows.Recent("firing", 1).Select(a => a.AlertId));

        // A second firing row for the same rule and subject is refused, and nothing of that cycle is kept.
        var duplicate = scoped with { AlertId = "alr_20261120T150100Z_cccccc" };
        Assert.ThrowsAny<DbException>(() => rows.Apply(_ => new AlertChanges(Now, [duplicate], [new AlertUpdate(older.AlertId, 1, 2, "changed", null)], [],
            [("ops", new Notification("dup", "dup"))])));
        Assert.Null(rows.Get(duplicate.AlertId));
        Assert.Equal("gmv for country MX is low", rows.Get(older.AlertId)!.Message);
        Assert.Single(rows.Outbox("pending"));

        // Once the episode is resolved, the same rule and subject may fire again.
        rows.Apply(firing =>
        {
            Assert.Equal(2, firing.Count);
            return new AlertChanges(Now.AddMinutes(1), [], [], [(scoped.AlertId, "Resolved: ok")], []);
        });
        rows.Apply(_ => new AlertChanges(Now.AddMinutes(2), [duplicate with { StartedAt = Now.AddMinutes(2) }], [], [], []));
        Assert.Equal([duplicate.AlertId, older.AlertId, scoped.AlertId], rows.Recent(null, 10).Select(a => a.AlertId)); // firing first
        Assert.Equal(Now.AddMinutes(1), rows.Get(scoped.AlertId)!.ResolvedAt);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Pending_messages_are_sent_once_whichever_node_dispatches_and_dead_ones_are_replayed_per_channel(string backend)
    {
        await using var receiver = await Receiver.StartAsync();
        var rows = Rows(backend);
        var otherNode = Rows(backend);
        rows.Enqueue([("ops", new Notification("first", "1")), ("ops", new Notification("second", "2")), ("broken", new Notification("third", "3"))], Now);
        Assert.Equal(3, otherNode.OutboxCount("pending"));

        var report = await Dispatcher(rows, receiver).DeliverPendingAsync();
        Assert.Equal(new DeliveryReport(2, 1), report);
        Assert.Equal(2, receiver.Accepted.Count());
        var sent = otherNode.Outbox("sent");
        Assert.Equal(["first", "second"], sent.Select(e => e.Notification.Title));
        Assert.All(sent, e => Assert.Equal(1, e.Attempts));
        var dead = Assert.Single(otherNode.Outbox("dead"));
        Assert.Equal(("broken", "third"), (dead.Channel, dead.Notification.Title));
        Assert.Contains("no channel named 'broken'", dead.LastError, StringComparison.Ordinal);

        // The other node's dispatcher finds nothing pending: nothing is sent twice.
        Assert.Equal(new DeliveryReport(0, 0), await Dispatcher(otherNode, receiver).DeliverPendingAsync());
        Assert.Equal(2, receiver.Requests.Count);

        // Replay takes only the channel asked for; a message to a channel that stays unknown dies again.
        receiver.Answer = _ => (400, null, "bad request");
        rows.Enqueue([("ops", new Notification("fourth", "4"))], Now);
        Assert.Equal(new DeliveryReport(0, 1), await Dispatcher(rows, receiver).DeliverPendingAsync());
        Assert.Equal(2, otherNode.OutboxCount("dead"));
        receiver.Answer = _ => (200, null, "ok");
        var (requeued, replayed) = await Dispatcher(otherNode, receiver).ReplayAsync("ops");
        Assert.Equal((1, new DeliveryReport(1, 0)), (requeued, replayed));
        Assert.Equal(["first", "second", "fourth"], rows.Outbox("sent").Select(e => e.Notification.Title));
        Assert.Equal(2, rows.Outbox("sent")[^1].Attempts); // one refused, one accepted
        Assert.Equal("third", Assert.Single(rows.Outbox("dead")).Notification.Title);
        Assert.Equal(1, rows.Requeue(null));
        Assert.Equal(0, rows.OutboxCount("dead"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void The_pipeline_and_connector_rules_judge_the_runs_where_the_jobs_record_them(string backend)
    {
        var hub = OpenHub(backend);
        var runs = hub.Jobs.Runs; // on a cluster, every node's runs in PostgreSQL
        var config = EnvironmentFiles.Parse("""
            environment: dev
            alerts:
              rules:
                - {name: batch-missed, pipeline: daily_batch, max_age: 26h}
                - {name: connector-down, connector_failing_days: 2}
            """, "test.yaml", "dev");
        var engine = new AlertEngine(hub.Database, hub.Kpis, AlertRuleSet.Compile(config), TimeSpan.FromHours(4), _clock, Rows(backend), runs);
        Run(runs, "connector_meta", Now.AddDays(-1).AddHours(-3), RunStatus.Failed);
        Run(runs, "connector_meta", Now.AddDays(-1).AddHours(-1), RunStatus.Failed);
        Run(runs, "connector_meta", Now.AddHours(-2), RunStatus.Failed);
        Run(runs, "connector_ga4", Now.AddDays(-1).AddHours(-2), RunStatus.Failed);
        Run(runs, "connector_ga4", Now.AddDays(-1).AddHours(-1), RunStatus.Partial); // a partial run counts as a working day
        Run(runs, "connector_ga4", Now.AddHours(-1), RunStatus.Failed);
        Run(runs, "daily_batch", Now.AddDays(-3), RunStatus.Success); // too long ago

        Assert.Equal(2, engine.Evaluate().Fired);
        var firing = Rows(backend).Recent("firing", 10);
        Assert.Equal([("batch-missed", "daily_batch"), ("connector-down", "connector_meta")],
            firing.Select(a => (a.Rule, a.Subject)).Order());
        Assert.Equal(2.0, firing.Single(a => a.Rule == "connector-down").Value);

        Run(runs, "daily_batch", Now.AddHours(-1), RunStatus.Success);
        Run(runs, "connector_meta", Now.AddMinutes(-30), RunStatus.Success);
        Assert.Equal(2, engine.Evaluate().Resolved);
    }

    [Fact]
    public void On_a_cluster_a_report_job_queues_its_channel_message_in_the_postgres_outbox_the_evaluator_sends()
    {
        var hub = OpenHub("postgres");
        var config = EnvironmentFiles.Parse($$"""
            environment: dev
            alerts:
              channels:
                - {name: team, type: webhook, url: "http://127.0.0.1:9/hook", secret_env: {{_secretVariable}}}
            reports:
              recipients:
                - {name: ops-team, reports: [daily], channels: [team]}
            """, "test.yaml", "dev");

        var run = new JobRunner(hub.Database, hub.Kpis, config, _clock) { State = hub.Jobs }.Run("report_daily", "test").Run!;

        Assert.Equal(RunStatus.Success, run.Status);
        var queued = Assert.Single(Rows("postgres").Outbox("pending")); // another node's view of the cluster's outbox
        Assert.Equal("team", queued.Channel);
        Assert.Single(queued.Notification.Attachments);
        Assert.Empty(AlertRows.Of(hub.Database, null).Outbox("pending")); // not in the node's own folder
    }

    private static void Run(IRunRows runs, string job, DateTimeOffset start, RunStatus status)
    {
        var id = PipelineRuns.NewRunId(start);
        runs.Start(new PipelineRun(id, job, "", start, null, RunStatus.Running, 0, null, "test", "{}"));
        runs.Finish(id, start.AddMinutes(5), status, 0, status == RunStatus.Failed ? "boom" : null, "{}");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Slo_counts_from_two_writers_add_up_per_hour_and_objective(string backend)
    {
        var nodeA = SloCounts(backend);
        var nodeB = SloCounts(backend);
        (string Hour, string Slo, long Good, long Total)[] a =
        [
            ("2026-11-20T10", SloObjectives.CollectorAvailability, 990, 1000),
            ("2026-11-20T11", SloObjectives.CollectorAvailability, 500, 500),
            ("2026-11-20T10", SloObjectives.ReadLatency, 7, 9),
            ("2026-11-19T23", SloObjectives.CollectorAvailability, 1, 400), // before the period asked for
        ];
        (string Hour, string Slo, long Good, long Total)[] b =
        [
            ("2026-11-20T10", SloObjectives.CollectorAvailability, 10, 20),
            ("2026-11-20T12", SloObjectives.ReadLatency, 3, 3),
        ];
        nodeA.Add(a);
        nodeB.Add(b);
        nodeA.Add([a[0]]); // counted twice by A: added, never overwritten

        var from = new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
        var statuses = nodeB.Status(from, from.AddDays(1));
        // The reference: plain sums over what both wrote inside the period.
        var all = a.Concat(b).Append(a[0]).Where(c => string.CompareOrdinal(c.Hour, "2026-11-20") >= 0).ToList();
        foreach (var status in statuses)
        {
            var mine = all.Where(c => c.Slo == status.Objective.Name).ToList();
            Assert.Equal((mine.Sum(c => c.Good), mine.Sum(c => c.Total)), (status.Good, status.Total));
        }
        Assert.Equal(2520, statuses.Single(s => s.Objective.Name == SloObjectives.CollectorAvailability).Total);
        Assert.Equal(SloObjectives.All.Count, statuses.Count);
    }

    private IAlertRows Rows(string backend) => AlertRows.Of(OpenHub(backend).Database, backend == "postgres" ? Open() : null);

    private ISloRows SloCounts(string backend) => SloRows.Of(OpenHub(backend).Database, backend == "postgres" ? Open() : null);

    /// <summary>The hub whose KPIs the engines read; on PostgreSQL its own rows are not the ones under test (each node gets its own state).</summary>
    private Hub OpenHub(string backend) => _hub ??= Hub.Open(_folder.Path, time: _clock, postgres: backend == "postgres" ? Open() : null);

    private PostgresState Open()
    {
        var state = PostgresState.Open(_postgres);
        _opened.Add(state);
        return state;
    }

    private AlertEngine NewEngine(IAlertRows rows) =>
        new(_hub!.Database, _hub.Kpis, AlertEngine.WithBuiltIns([], ["ops"]), TimeSpan.FromHours(1), _clock, rows);

    private NotificationDispatcher Dispatcher(IAlertRows rows, Receiver receiver)
    {
        var config = EnvironmentFiles.Parse($$"""
            environment: dev
            alerts:
              delivery_retries: 0
              channels:
                - {name: ops, type: webhook, url: "{{receiver.Url}}", secret_env: {{_secretVariable}}}
            """, "test.yaml", "dev");
        return new NotificationDispatcher(rows, NotificationChannels.Create(config.Alerts, _http, TimeProvider.System), config.Alerts, _clock);
    }

    /// <summary>(fired, renotified, resolved, firing) of a cycle in which every rule could be evaluated.</summary>
    private static (int, int, int, int) Counts(CycleReport report)
    {
        Assert.Empty(report.Problems);
        return (report.Fired, report.Renotified, report.Resolved, report.Firing);
    }
}
