using System.Net;
using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Webhooks;
using Atalaya.Tests.Access;
using Atalaya.Tests.Connectors;
using Atalaya.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Two hubs on one PostgreSQL, each with its own data folder, play two cluster nodes (docs/scale-out.md,
/// "Jobs on a cluster"): node A's connector run meets a changed GA4 answer, keeps the page and
/// dead-letters the day in PostgreSQL; node B's <c>/api/runs</c> shows the run's error class,
/// <c>atalaya connectors dead-letters --postgres</c> lists the day, and <c>atalaya connectors replay
/// --postgres</c> reads the page node A kept (no fetch) into the shared <c>fact_kpi_daily</c>. A
/// webhook payload node A dead-letters is listed on node B; while PostgreSQL is away a webhook is
/// answered 503 with Retry-After and nothing is acknowledged, and the provider's retry is stored.
/// </summary>
public sealed class PostgresClusterConnectorTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private static readonly DateOnly Yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

    private readonly ConnectorSetup _secrets = new();
    private readonly TempDirectory _root = new("atalaya-pg-connectors");
    private readonly string _webhookSecret = "whsec_" + Guid.NewGuid().ToString("N");
    private readonly string _webhookVariable = "ATALAYA_TEST_WH_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private FakeGa4 _ga4 = null!;
    private string _credentials = "";

    public async Task InitializeAsync()
    {
        _ga4 = await FakeGa4.StartAsync();
        _credentials = _secrets.Secret("ga4.json", _ga4.ServiceAccountJson());
        Environment.SetEnvironmentVariable(_webhookVariable, _webhookSecret);
        _ga4.Set("123456", Yesterday, ("sessions", 120), ("activeUsers", 90), ("newUsers", 12));
        // GA4 renamed a metric: the connector's mapping on node A still asks for the old name.
        _ga4.RenamedMetrics = ["sessions", "active1DayUsers", "newUsers"];
    }

    public async Task DisposeAsync()
    {
        await _ga4.DisposeAsync();
        Environment.SetEnvironmentVariable(_webhookVariable, null);
        _secrets.Dispose();
        _root.Dispose();
    }

    private string Yaml(string metrics) => $$"""
        environment: dev
        connectors:
          ga4:
            base_url: {{_ga4.Server.Url}}
            token_url: {{_ga4.TokenUrl}}
            credentials_file_env: {{_credentials}}
            properties:
              - {property_id: "123456", app_id: shop-web, platform: web}
            metrics: {{metrics}}
            max_retries: 0
        webhooks:
          payments:
            secret_env: {{_webhookVariable}}
            signature_header: Stripe-Signature
            mapping: stripe
        """;

    [Fact]
    public async Task A_day_dead_lettered_on_one_node_is_listed_and_replayed_from_its_kept_page_on_the_other_with_the_runs_error_class()
    {
        var database = await server.NewDatabaseAsync();
        using var stateA = PostgresState.Open(database);
        using var stateB = PostgresState.Open(database);
        var before = EnvironmentFiles.Parse(Yaml("[sessions, activeUsers, newUsers]"), "test.yaml", "dev");
        await using var nodeA = await TestHub.StartAsync(o => o with { Postgres = stateA, Config = before, RunScheduler = false, RunAlerts = false });
        await using var nodeB = await TestHub.StartAsync(o => o with { Postgres = stateB, Config = before, RunScheduler = false, RunAlerts = false });
        var admin = nodeA.CreateToken(Role.Admin);

        // Node A runs the connector (yesterday): the answer lacks activeUsers, so the day is a schema dead letter.
        var (started, startedBody) = await AccessHttp.SendAsync(nodeA.Client, HttpMethod.Post, "/api/jobs/connector_ga4/run", admin);
        Assert.True(started == HttpStatusCode.Accepted, startedBody);
        var runId = JsonDocument.Parse(startedBody).RootElement.GetProperty("run_id").GetString()!;
        await Wait.UntilAsync(async () => (await PostgresServer.ColumnAsync(database, $"SELECT status FROM pipeline_runs WHERE run_id = '{runId}'")).SingleOrDefault() is "failed",
            "node A's connector run fails");
        var fetched = _ga4.Server.Hits("report");
        Assert.Equal(1, fetched);

        // Node B's /api/runs shows the run with its error class.
        var runs = await AccessHttp.GetJsonAsync(nodeB.Client, "/api/runs?job=connector_ga4", admin);
        var run = Assert.Single(runs.GetProperty("data").EnumerateArray());
        Assert.Equal((runId, "schema"), (run.GetProperty("run_id").GetString(), run.GetProperty("error_class").GetString()));

        // The CLI lists the cluster's dead letter without opening a data folder.
        var never = Path.Combine(_root.Path, "never-opened");
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("connectors", "dead-letters", "--postgres", database, "--data", never);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"{Yesterday:yyyy-MM-dd}", stdout, StringComparison.Ordinal);
        Assert.Contains("schema", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(never));

        // The mapping is updated; the replay (the CLI, on node B's side) parses the page node A kept, without fetching.
        var configDirectory = Directory.CreateDirectory(_root["config"]).FullName;
        await File.WriteAllTextAsync(Path.Combine(configDirectory, "dev.yaml"), Yaml("[sessions, active1DayUsers, newUsers]"));
        (exit, stdout, stderr) = await AtalayaProcess.RunAsync("connectors", "replay", "ga4", "--postgres", database, "--data", _root["cli"], "--env", "dev", "--config", configDirectory);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("reprocessed from the 1 kept page(s), not fetched", stdout, StringComparison.Ordinal);
        Assert.Equal(fetched, _ga4.Server.Hits("report"));

        Assert.Empty(ConnectorRows.Shared(stateB).DeadLetters());
        Assert.Equal(["active1_day_users=90", "new_users=12", "sessions=120"],
            (await PostgresServer.ColumnAsync(database, $"SELECT metric || '=' || value FROM fact_kpi_daily WHERE source_system = 'ga4' AND date = '{Yesterday:yyyy-MM-dd}' ORDER BY metric")).Cast<string>());
        var replayed = (await AccessHttp.GetJsonAsync(nodeB.Client, "/api/runs?job=connector_ga4", admin)).GetProperty("data").EnumerateArray().First();
        Assert.Equal(("replay", "success"), (replayed.GetProperty("trigger").GetString(), replayed.GetProperty("status").GetString()));
        Assert.Equal(replayed.GetProperty("run_id").GetString(),
            (await PostgresServer.ColumnAsync(database, "SELECT resolved_by FROM dead_letters")).Single());
        // No data folder holds the connector's state.
        foreach (var folder in new[] { nodeA.DataDirectory, nodeB.DataDirectory, _root["cli"] })
        {
            Assert.Equal((0L, 0L, 0L), (Count(folder, "connector_pages"), Count(folder, "dead_letters"), Count(folder, "pipeline_runs")));
        }
    }

    [Fact]
    public async Task A_webhook_dead_letter_taken_by_one_node_is_listed_on_the_other_and_postgres_away_is_503_never_an_acknowledged_loss()
    {
        var database = await server.NewDatabaseAsync();
        using var stateA = PostgresState.Open(database);
        using var stateB = PostgresState.Open(database);
        var config = EnvironmentFiles.Parse(Yaml("[sessions]"), "test.yaml", "dev");
        await using var nodeA = await TestHub.StartAsync(o => o with { Postgres = stateA, Config = config, RunScheduler = false, RunAlerts = false });
        await using var nodeB = await TestHub.StartAsync(o => o with { Postgres = stateB, Config = config, RunScheduler = false, RunAlerts = false });

        var rejected = Payment("evt_pg_1", currency: "pesos");
        var signature = Sign(rejected);
        using (var response = await PostWebhookAsync(nodeA, rejected, signature))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        var letter = Assert.Single(ConnectorRows.Shared(stateB).DeadLetters("webhook"));
        Assert.Equal(("payments", "mapping"), (letter.Provider, letter.ErrorClass));
        Assert.Contains("currency", letter.Reason, StringComparison.Ordinal);
        Assert.Equal(Encoding.UTF8.GetBytes(rejected), WebhookInbox.For(nodeB.Hub.Database, stateB).Body(letter.WebhookId!.Value));
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync("connectors", "dead-letters", "--postgres", database, "--data", _root["cli"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("webhook", stdout, StringComparison.Ordinal);
        Assert.Contains("rejected by the catalog", stdout, StringComparison.Ordinal);
        // A second delivery of the same signature, to node B, is refused as a replay: the signature is known cluster-wide.
        using (var again = await PostWebhookAsync(nodeB, rejected, signature))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }
        Assert.Equal((0L, 0L), (Count(nodeA.DataDirectory, "webhook_inbox"), Count(nodeA.DataDirectory, "dead_letters")));

        // PostgreSQL away: the webhook is not acknowledged (503, Retry-After), so the provider delivers it again.
        var valid = Payment("evt_pg_2");
        var validSignature = Sign(valid);
        await server.PauseAsync();
        try
        {
            using var during = await PostWebhookAsync(nodeA, valid, validSignature);
            var body = await during.Content.ReadAsStringAsync();
            Assert.True(during.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)during.StatusCode}: {body}");
            Assert.Equal(TimeSpan.FromSeconds(5), during.Headers.RetryAfter?.Delta);
            Assert.Contains("PostgreSQL) cannot be reached", AccessHttp.Error(body), StringComparison.Ordinal);
        }
        finally
        {
            await server.ResumeAsync();
        }
        HttpStatusCode retried = 0;
        await Wait.UntilAsync(async () =>
        {
            using var response = await PostWebhookAsync(nodeA, valid, validSignature);
            retried = response.StatusCode;
            return retried != HttpStatusCode.ServiceUnavailable;
        }, "the provider's retry reaches PostgreSQL again");
        Assert.Equal(HttpStatusCode.OK, retried);
        Assert.Equal(["dead", "mapped"], (await PostgresServer.ColumnAsync(database, "SELECT status FROM webhook_inbox ORDER BY id")).Cast<string>());
    }

    [Fact]
    public async Task A_connector_run_that_loses_postgres_midway_writes_nothing_half_and_the_same_days_run_again_once_it_is_back()
    {
        var database = await server.NewDatabaseAsync();
        using var state = PostgresState.Open(database);
        using var setup = new ConnectorSetup { State = Engine.Jobs.JobState.Shared(state) };
        _ga4.RenamedMetrics = null;
        _ga4.Set("123456", Yesterday.AddDays(-1), ("sessions", 110), ("activeUsers", 85), ("newUsers", 11));
        var config = EnvironmentFiles.Parse(Yaml("[sessions, activeUsers, newUsers]").Replace("max_retries: 0", "max_retries: 0\n    page_size: 1", StringComparison.Ordinal), "test.yaml", "dev");
        // The first page is answered; while the second is asked for, PostgreSQL goes away and GA4 answers 503.
        _ga4.Server.Enqueue("report", Faults.Pass, async context =>
        {
            await server.PauseAsync();
            await Faults.Status(503, "{}")(context);
        });

        try
        {
            Assert.Throws<StateUnavailableException>(() => setup.Run(config, "ga4", Yesterday.AddDays(-1), Yesterday));
        }
        finally
        {
            await server.ResumeAsync();
        }

        // Nothing of the unit was written, nothing claims it was: once PostgreSQL is back the run is marked failed.
        var runs = Engine.Jobs.JobState.Shared(state).Runs;
        await Wait.UntilAsync(() =>
        {
            try
            {
                return Engine.Jobs.PipelineRuns.FailAbandoned(runs, _ => false, DateTimeOffset.UtcNow) == 1;
            }
            catch (StateUnavailableException)
            {
                return false; // the pooled connections the outage cut; the next call connects afresh
            }
        }, "the cut run is marked failed");
        Assert.Equal(0L, (await PostgresServer.ColumnAsync(database, "SELECT count(*) FROM fact_kpi_daily")).Single());
        Assert.Empty(ConnectorRows.Shared(state).DeadLetters());

        var again = setup.Run(config, "ga4", Yesterday.AddDays(-1), Yesterday);
        Assert.Equal(Engine.Jobs.RunStatus.Success, again.Status);
        Assert.Equal(6L, (await PostgresServer.ColumnAsync(database, "SELECT count(*) FROM fact_kpi_daily WHERE source_system = 'ga4'")).Single());
    }

    private static string Payment(string eventId, string currency = "mxn") => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["id"] = eventId,
        ["object"] = "event",
        ["type"] = "payment_intent.succeeded",
        ["created"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(),
        ["data"] = new Dictionary<string, object>
        {
            ["object"] = new Dictionary<string, object>
            {
                ["id"] = "pi_" + eventId,
                ["object"] = "payment_intent",
                ["amount"] = 12345,
                ["amount_received"] = 12345,
                ["currency"] = currency,
                ["metadata"] = new Dictionary<string, string> { ["order_id"] = "o-" + eventId },
            },
        },
    });

    private string Sign(string body) => WebhookSignature.Sign(_webhookSecret, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(body));

    private static Task<HttpResponseMessage> PostWebhookAsync(TestHub node, string body, string signature)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/payments") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        return node.Client.SendAsync(request);
    }

    private static long Count(string dataDirectory, string table)
    {
        var path = Path.Combine(dataDirectory, Engine.Storage.HubDatabase.FileName);
        if (!File.Exists(path))
        {
            return 0;
        }
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table};";
        return (long)command.ExecuteScalar()!;
    }
}
