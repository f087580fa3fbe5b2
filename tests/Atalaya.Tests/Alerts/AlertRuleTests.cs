using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Quality;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Alerts;

/// <summary>
/// Each rule kind fires and resolves on crafted data, judged against a plain computation of the
/// same figure; an alert fires once, re-notifies after the interval unless acknowledged, and every
/// change puts its notification in the outbox. The clock is moved, never waited for.
/// </summary>
public sealed class AlertRuleTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 15, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "atalaya-alerts-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock _clock = new(Now);
    private Hub _hub = null!;

    public Task InitializeAsync()
    {
        _hub = Hub.Open(_directory, time: _clock);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Threshold_fires_once_renotifies_unless_acknowledged_and_resolves()
    {
        var engine = Engine("""{name: orders-floor, kpi: orders, window: 1h, below: 3, severity: critical, channels: [ops]}""", renotify: "1h");
        await OrdersAsync(Now.AddMinutes(-30), 1);
        await OrdersAsync(Now.AddMinutes(-90), 5); // outside the window

        var first = engine.Evaluate();
        Assert.Equal(1, first.Fired);
        var alert = Assert.Single(Alerts());
        Assert.Equal(("orders-floor", "firing", "critical", 1.0, 3.0), (alert.Rule, alert.State, alert.Severity, alert.Value, alert.Threshold));
        Assert.Equal(1, engine.Evaluate().Firing);
        Assert.Single(Alerts());
        Assert.Single(Outbox());

        _clock.Advance(TimeSpan.FromMinutes(61));
        await OrdersAsync(_clock.GetUtcNow().AddMinutes(-5), 1); // still below: 1 order in the new hour
        Assert.Equal(1, engine.Evaluate().Renotified);
        Assert.Equal(2, Outbox().Count);
        Assert.Contains("still firing", Outbox()[1].Notification.Title, StringComparison.Ordinal);

        Assert.True(engine.Acknowledge(alert.AlertId, "tok_test", Atalaya.Engine.Access.AccessScope.Everything));
        _clock.Advance(TimeSpan.FromMinutes(61));
        await OrdersAsync(_clock.GetUtcNow().AddMinutes(-5), 1);
        Assert.Equal(0, engine.Evaluate().Renotified);
        Assert.Equal(2, Outbox().Count);

        await OrdersAsync(_clock.GetUtcNow().AddMinutes(-5), 3);
        var resolved = engine.Evaluate();
        Assert.Equal(1, resolved.Resolved);
        var after = Assert.Single(Alerts());
        Assert.Equal("resolved", after.State);
        Assert.Equal(_clock.GetUtcNow(), after.ResolvedAt);
        Assert.Equal("resolved", Outbox()[^1].Notification.Status);
    }

    [Fact]
    public async Task Ratio_to_the_7_day_average_of_the_same_hours_fires_and_resolves()
    {
        var engine = Engine("""{name: orders-vs-week, kpi: orders, window: 2h, ratio_to_avg7d_below: 0.5, channels: [ops]}""");
        int[] history = [4, 6, 4, 6, 5, 3, 7];
        for (var d = 1; d <= 7; d++)
        {
            await OrdersAsync(Now.AddDays(-d).AddMinutes(-30), history[d - 1]);
            await OrdersAsync(Now.AddDays(-d).AddHours(-3), 50); // the hours before the window do not count
        }
        await OrdersAsync(Now.AddMinutes(-10), 2);
        engine.Evaluate();
        var alert = Assert.Single(Alerts());
        Assert.Equal(2 / history.Average(), alert.Value!.Value, 9);
        Assert.Equal(0.5, alert.Threshold);

        await OrdersAsync(Now.AddMinutes(-10), 2); // 4 / 5 = 0.8
        Assert.Equal(1, engine.Evaluate().Resolved);
        Assert.Equal("resolved", Assert.Single(Alerts()).State);
    }

    [Fact]
    public async Task Z_score_against_the_same_hours_of_earlier_days_fires_and_resolves()
    {
        var engine = Engine("""{name: orders-anomaly, kpi: orders, window: 1h, zscore_above: 3, zscore_days: 7}""");
        int[] history = [4, 5, 6, 5, 4, 5, 6];
        for (var d = 1; d <= 7; d++)
        {
            await OrdersAsync(Now.AddDays(-d).AddMinutes(-20), history[d - 1]);
        }
        await OrdersAsync(Now.AddMinutes(-20), 12);
        engine.Evaluate();
        var alert = Assert.Single(Alerts());
        Assert.Equal(ZScore(12, history), alert.Value!.Value, 9);
        Assert.True(alert.Value > 3);

        // A day later the window holds a normal count; the spike is now part of the history.
        _clock.Advance(TimeSpan.FromDays(1));
        await OrdersAsync(_clock.GetUtcNow().AddMinutes(-20), 6);
        Assert.True(Math.Abs(ZScore(6, [5, 6, 5, 4, 5, 6, 12])) < 3);
        Assert.Equal(1, engine.Evaluate().Resolved);
    }

    [Fact]
    public void Pipeline_missed_fires_until_a_successful_run_within_max_age()
    {
        var engine = Engine("""{name: batch-missed, pipeline: daily_batch, max_age: 26h, severity: critical}""");
        Run("daily_batch", Now.AddHours(-30), RunStatus.Success);
        Run("daily_batch", Now.AddHours(-2), RunStatus.Failed);
        engine.Evaluate();
        var alert = Assert.Single(Alerts());
        // Hours since the last success ended (runs here last 5 minutes).
        Assert.Equal(("daily_batch", 26.0), (alert.Subject, alert.Threshold));
        Assert.Equal((Now - Now.AddHours(-30).AddMinutes(5)).TotalHours, alert.Value!.Value, 9);

        Run("daily_batch", Now.AddHours(-1), RunStatus.Success);
        Assert.Equal(1, engine.Evaluate().Resolved);
    }

    [Fact]
    public void Failing_quality_check_fires_per_subject_and_resolves_with_the_next_run()
    {
        var engine = Engine("""{name: dq-failing, quality_check: freshness}""");
        using (var connection = _hub.Database.Connect())
        {
            QualityResults.Save(connection, "run_1", Now.AddMinutes(-5),
            [
                new QualityResult("freshness", "web", QualityStatus.Fail, 9, 2, 6, "hours", "no web events for 9 h"),
                new QualityResult("freshness", "app", QualityStatus.Ok, 0.1, 2, 6, "hours", "fine"),
                new QualityResult("null_rate", "user_id", QualityStatus.Fail, 9, 1, 5, "pct", "not this rule's check"),
            ]);
        }
        engine.Evaluate();
        var alert = Assert.Single(Alerts());
        Assert.Equal(("freshness:web", 9.0, 6.0), (alert.Subject, alert.Value, alert.Threshold));

        _clock.Advance(TimeSpan.FromMinutes(10));
        using (var connection = _hub.Database.Connect())
        {
            QualityResults.Save(connection, "run_2", _clock.GetUtcNow(), [new QualityResult("freshness", "web", QualityStatus.Ok, 0.2, 2, 6, "hours", "fine")]);
        }
        Assert.Equal(1, engine.Evaluate().Resolved);
    }

    [Fact]
    public void Connector_failing_two_days_running_fires_and_a_success_resolves()
    {
        var engine = Engine("""{name: connector-down, connector_failing_days: 2}""");
        Run("connector_meta", Now.AddDays(-1).AddHours(-3), RunStatus.Failed);
        Run("connector_meta", Now.AddDays(-1).AddHours(-1), RunStatus.Failed);
        Run("connector_ga4", Now.AddDays(-1).AddHours(-1), RunStatus.Success);
        Run("connector_ga4", Now.AddHours(-1), RunStatus.Failed); // one day only
        Run("daily_batch", Now.AddDays(-1), RunStatus.Failed);    // not a connector
        Run("daily_batch", Now.AddHours(-1), RunStatus.Failed);
        Assert.Empty(engine.Findings(engine.Rules[0], Now));

        Run("connector_meta", Now.AddHours(-2), RunStatus.Failed);
        engine.Evaluate();
        var alert = Assert.Single(Alerts());
        Assert.Equal(("connector_meta", 2.0), (alert.Subject, alert.Value));

        Run("connector_meta", Now.AddHours(-1), RunStatus.Success);
        Assert.Equal(1, engine.Evaluate().Resolved);
    }

    [Fact]
    public void Dead_lettered_notifications_raise_the_built_in_alert_until_replayed()
    {
        var engine = new AlertEngine(_hub.Database, _hub.Kpis, AlertEngine.WithBuiltIns([], []), TimeSpan.FromHours(1), _clock);
        long id;
        using (var connection = _hub.Database.Connect())
        {
            id = NotificationOutbox.Enqueue(connection, "ops", new Notification("t", "x"), Now);
            NotificationOutbox.MarkDead(connection, id, 4, "ops: the receiver answered 503");
        }
        engine.Evaluate();
        Assert.Equal(("notifications-dead-lettered", 1.0), (Assert.Single(Alerts()).Rule, Assert.Single(Alerts()).Value));
        using (var connection = _hub.Database.Connect())
        {
            NotificationOutbox.Requeue(connection, null);
            NotificationOutbox.MarkSent(connection, id, 1, Now);
        }
        Assert.Equal(1, engine.Evaluate().Resolved);
    }

    [Fact]
    public void A_rule_removed_from_the_configuration_resolves_its_alert()
    {
        Engine("""{name: batch-missed, pipeline: daily_batch, max_age: 1h}""").Evaluate();
        Assert.Equal("firing", Assert.Single(Alerts()).State);
        Assert.Equal(1, new AlertEngine(_hub.Database, _hub.Kpis, [], TimeSpan.FromHours(1), _clock).Evaluate().Resolved);
    }

    private static double ZScore(double value, int[] history)
    {
        var mean = history.Average();
        var sd = Math.Sqrt(history.Sum(x => (x - mean) * (x - mean)) / (history.Length - 1));
        return (value - mean) / sd;
    }

    private AlertEngine Engine(string rule, string renotify = "4h")
    {
        var yaml = $"""
            environment: dev
            alerts:
              renotify_every: {renotify}
              channels:
                - {"{"}name: ops, type: alertmanager, url: "http://127.0.0.1:9"{"}"}
              rules:
                - {rule}
            """;
        var config = EnvironmentFiles.Parse(yaml, "test.yaml", "dev");
        return new AlertEngine(_hub.Database, _hub.Kpis, AlertRuleSet.Compile(config), config.Alerts.RenotifyInterval, _clock);
    }

    private List<Alert> Alerts()
    {
        using var connection = _hub.Database.Connect();
        return [.. AlertStore.Recent(connection, null, 100)];
    }

    private List<OutboxEntry> Outbox()
    {
        using var connection = _hub.Database.Connect();
        return [.. NotificationOutbox.List(connection, "pending")];
    }

    private void Run(string job, DateTimeOffset start, RunStatus status)
    {
        var id = PipelineRuns.NewRunId(start);
        PipelineRuns.Start(_hub.Database, new PipelineRun(id, job, "", start, null, RunStatus.Running, 0, null, "test", "{}"));
        PipelineRuns.Finish(_hub.Database, id, start.AddMinutes(5), status, 0, status == RunStatus.Failed ? "boom" : null, "{}");
    }

    private async Task OrdersAsync(DateTimeOffset at, int count)
    {
        var events = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            var e = Events.Valid("purchase_completed");
            e["timestamp"] = at.AddSeconds(i).ToString("O", CultureInfo.InvariantCulture);
            e["properties"]!["order_id"] = Guid.NewGuid().ToString();
            events.Add(e);
        }
        var result = await _hub.Pipeline.IngestNativeAsync(Encoding.UTF8.GetBytes(events.ToJsonString()), ndjson: false, "test");
        Assert.Equal(count, result.Accepted);
    }
}

/// <summary>A clock the test moves; timers created on it never fire on their own.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
