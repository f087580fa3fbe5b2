using System.Net;
using Atalaya.Alerts;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Postgres;
using Atalaya.Http;
using Atalaya.Tests.Access;
using Atalaya.Tests.Alerts;
using Atalaya.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Hubs whose alerts, notification outbox and SLO counts live in one PostgreSQL, over real HTTP:
/// an alert raised by the evaluating hub is listed and acknowledged on the other; when the
/// evaluator stops, the other continues the episode and the loopback webhook has received exactly
/// one notification; the SLO counts of both hubs add up; and while PostgreSQL is away the alert
/// and SLO reads answer 503 with Retry-After (never 500) and work again once it is back.
/// </summary>
public sealed class PostgresAlertHttpTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly List<PostgresState> _opened = [];
    private readonly string _variable = "ATALAYA_TEST_HOOK_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
    private string _database = "";

    public async Task InitializeAsync()
    {
        _database = await server.NewDatabaseAsync();
        Environment.SetEnvironmentVariable(_variable, "k3y-" + Guid.NewGuid().ToString("N"));
    }

    public Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_variable, null);
        _opened.ForEach(s => s.Dispose());
        return Task.CompletedTask;
    }

    [Fact]
    public async Task An_alert_raised_by_the_evaluator_is_listed_and_acknowledged_on_the_other_hub_which_continues_it_after_a_takeover_without_a_second_notification()
    {
        await using var receiver = await Receiver.StartAsync();
        // No orders at all: the threshold rule fires on whichever hub evaluates it.
        var config = EnvironmentFiles.Parse($$"""
            environment: dev
            alerts:
              evaluate_every: 100ms
              channels:
                - {name: ops, type: webhook, url: "{{receiver.Url}}", secret_env: {{_variable}}}
              rules:
                - {name: orders-low, kpi: orders, window: 1h, below: 5, severity: critical, channels: [ops]}
            """, "test.yaml", "dev");
        var hubs = new List<TestHub>();
        try
        {
            hubs.Add(await StartHubAsync(o => o with { Config = config, RunAlerts = true }));
            hubs.Add(await StartHubAsync(o => o with { Config = config, RunAlerts = true }));
            await Wait.UntilAsync(() => hubs.Any(h => Service(h).Evaluated > 0), "one hub to evaluate");
            var holder = hubs.Single(h => Service(h).Evaluated > 0);
            var other = hubs.Single(h => h != holder);
            await Wait.UntilAsync(() => receiver.Accepted.Any(), "the firing notification");
            var admin = holder.CreateToken(Role.Admin); // the tokens are the cluster's too
            var analyst = holder.CreateToken(Role.Analyst);

            // The hub that does not evaluate lists the alert, counts it in its metrics and acknowledges it.
            var listed = await AccessHttp.GetJsonAsync(other.Client, "/api/alerts", analyst);
            var alert = Assert.Single(listed.GetProperty("data").EnumerateArray());
            var id = alert.GetProperty("alert_id").GetString()!;
            Assert.Equal(("orders-low", "firing", 0.0), (alert.GetProperty("rule").GetString(), alert.GetProperty("state").GetString(), alert.GetProperty("value").GetDouble()));
            Assert.Contains("atalaya_alerts_firing{severity=\"critical\"} 1", (await AccessHttp.GetAsync(other.Client, "/metrics", admin)).Body, StringComparison.Ordinal);
            var (ackStatus, ackBody) = await AccessHttp.SendAsync(other.Client, HttpMethod.Post, $"/api/alerts/{id}/ack", analyst);
            Assert.True(ackStatus == HttpStatusCode.OK, ackBody);
            var onHolder = (await AccessHttp.GetJsonAsync(holder.Client, "/api/alerts", admin)).GetProperty("data")[0];
            Assert.Equal(id, onHolder.GetProperty("alert_id").GetString());
            Assert.StartsWith("tok_", onHolder.GetProperty("acknowledged_by").GetString(), StringComparison.Ordinal);

            // The evaluator stops; the other takes over and completes whole cycles on the episode it finds firing.
            await holder.DisposeAsync();
            hubs.Remove(holder);
            await Wait.UntilAsync(() => Service(other).Evaluated > 0, "the other hub to take the evaluation over");
            var cycles = Service(other).Cycles;
            await Wait.UntilAsync(() => Service(other).Cycles >= cycles + 2, "a whole cycle evaluated by the hub that took over");
            Assert.Single(receiver.Accepted);
            var after = Assert.Single((await AccessHttp.GetJsonAsync(other.Client, "/api/alerts", admin)).GetProperty("data").EnumerateArray());
            Assert.Equal((id, "firing"), (after.GetProperty("alert_id").GetString(), after.GetProperty("state").GetString()));
            Assert.Equal(1L, Assert.Single(await PostgresServer.ColumnAsync(_database, "SELECT count(*) FROM alerts")));
            Assert.Equal(1L, Assert.Single(await PostgresServer.ColumnAsync(_database, "SELECT count(*) FROM notification_outbox WHERE state = 'sent'")));
            Assert.Equal(0L, Assert.Single(await PostgresServer.ColumnAsync(_database, "SELECT count(*) FROM notification_outbox WHERE state <> 'sent'")));
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_slo_counts_of_two_hubs_add_up_in_postgres()
    {
        await using var hubA = await StartHubAsync(o => o);
        await using var hubB = await StartHubAsync(o => o);
        var admin = hubA.CreateToken(Role.Admin);
        var posted = new Dictionary<TestHub, int> { [hubA] = 3, [hubB] = 2 };
        foreach (var (hub, count) in posted)
        {
            for (var i = 0; i < count; i++)
            {
                using var response = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString());
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        // Each /api/slo call adds what its hub counted since its last flush: B's first, then A's answer covers both.
        await AccessHttp.GetJsonAsync(hubB.Client, "/api/slo", admin);
        var slo = await AccessHttp.GetJsonAsync(hubA.Client, "/api/slo", admin);
        var collector = slo.GetProperty("data").EnumerateArray().Single(s => s.GetProperty("slo").GetString() == "collector_availability");
        Assert.Equal((5L, 5L), (collector.GetProperty("good").GetInt64(), collector.GetProperty("total").GetInt64()));
        Assert.Equal(5L, Assert.Single(await PostgresServer.ColumnAsync(_database, "SELECT CAST(sum(total) AS bigint) FROM slo_hours WHERE slo = 'collector_availability'")));
    }

    [Fact]
    public async Task While_postgres_is_away_alert_reads_answer_503_with_retry_after_an_evaluation_fails_and_all_works_again_once_it_is_back()
    {
        var clock = new HeldClock();
        await using var hub = await StartHubAsync(o => o with { Time = clock });
        var admin = hub.CreateToken(Role.Admin);
        var config = EnvironmentFiles.Parse("""
            environment: dev
            alerts:
              rules:
                - {name: orders-low, kpi: orders, window: 1h, below: 5}
            """, "test.yaml", "dev");
        var engine = new AlertEngine(hub.Hub.Database, hub.Hub.Kpis, AlertRuleSet.Compile(config), TimeSpan.FromHours(4), clock, hub.Hub.AlertRows);
        Assert.Equal(1, engine.Evaluate().Fired);
        var id = (await AccessHttp.GetJsonAsync(hub.Client, "/api/alerts", admin)).GetProperty("data")[0].GetProperty("alert_id").GetString();
        clock.Hold(); // the admin's lookup, cached now, stays fresh until the clock moves

        await server.PauseAsync();
        try
        {
            await PostgresTokenHttpTests.AssertUnavailableAsync(hub, HttpMethod.Get, "/api/alerts", admin);
            await PostgresTokenHttpTests.AssertUnavailableAsync(hub, HttpMethod.Post, $"/api/alerts/{id}/ack", admin);
            await PostgresTokenHttpTests.AssertUnavailableAsync(hub, HttpMethod.Get, "/api/slo", admin);
            // The alert loop's cycle fails (the service logs it and tries again on the next one).
            Assert.Throws<StateUnavailableException>(() => engine.Evaluate());
        }
        finally
        {
            await server.ResumeAsync();
        }

        await Wait.UntilAsync(async () => (await AccessHttp.GetAsync(hub.Client, "/api/alerts", admin)).Status == HttpStatusCode.OK,
            "the alert list answered 200 again once PostgreSQL was back");
        Assert.Equal((0, 1), (engine.Evaluate().Fired, engine.Evaluate().Firing));
        var (acked, body) = await AccessHttp.SendAsync(hub.Client, HttpMethod.Post, $"/api/alerts/{id}/ack", admin);
        Assert.True(acked == HttpStatusCode.OK, body);
    }

    [Fact]
    public async Task The_notifications_and_slo_commands_read_the_cluster_rows_with_postgres()
    {
        using var folder = new TempDirectory("atalaya-pg-alert-cli");
        using (var state = PostgresState.Open(_database))
        {
            var outbox = AlertRows.Of(Engine.Storage.HubDatabase.Open(folder["node"]), state);
            outbox.Enqueue([("ops", new Engine.Alerts.Notifications.Notification("[CRITICAL] orders-low", "0 orders"))], DateTimeOffset.UtcNow);
            outbox.MarkDead(Assert.Single(outbox.Outbox("pending")).Id, 4, "ops: the receiver answered 503");
            var month = DateTimeOffset.UtcNow.AddMonths(-1);
            Engine.Slo.SloRows.Of(Engine.Storage.HubDatabase.Open(folder["node"]), state)
                .Add([(Engine.Slo.SloStore.HourKey(new DateTimeOffset(month.Year, month.Month, 2, 10, 0, 0, TimeSpan.Zero)), Engine.Slo.SloObjectives.CollectorAvailability, 9995, 10000)]);
        }

        // A fresh data folder (another machine): the outbox and the counts come from PostgreSQL.
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("notifications", "list", "--data", folder["cli"], "--postgres", _database);
        Assert.True(exit == 0, stderr);
        Assert.Contains("[CRITICAL] orders-low", stdout, StringComparison.Ordinal);
        Assert.Contains("ops: the receiver answered 503", stdout, StringComparison.Ordinal);
        Assert.Contains("1 dead notification(s)", stdout, StringComparison.Ordinal);
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("notifications", "list", "--data", folder["cli"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("0 dead notification(s)", stdout, StringComparison.Ordinal);
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("slo", "report", "--data", folder["cli"], "--postgres", _database);
        Assert.True(exit == 0, stderr);
        Assert.Contains("9995 / 10000", stdout, StringComparison.Ordinal);

        (exit, _, stderr) = await AtalayaProcess.RunAsync("notifications", "list", "--data", folder["cli"], "--postgres", "Host=127.0.0.1;Port=1;Username=atalaya");
        Assert.Equal(2, exit);
        Assert.Contains("cannot be reached", stderr, StringComparison.Ordinal);
        (exit, stdout, _) = await AtalayaProcess.RunAsync("notifications", "replay", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("--postgres", stdout, StringComparison.Ordinal);
    }

    private async Task<TestHub> StartHubAsync(Func<ServeOptions, ServeOptions> configure)
    {
        var state = PostgresState.Open(_database);
        _opened.Add(state);
        return await TestHub.StartAsync(o => configure(o with { Postgres = state }));
    }

    private static AlertService Service(TestHub hub) => hub.Services.GetRequiredService<AlertService>();
}
