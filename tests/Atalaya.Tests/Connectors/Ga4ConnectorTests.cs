using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// The GA4 connector against a local server speaking the Data API and Google's token endpoint:
/// paging, idempotent reruns, each error class (429 with Retry-After, 5xx, timeouts, a revoked key,
/// an expired token, a changed shape, garbage), empty days, spikes, nothing partial for a failed
/// unit, and schema dead letters reprocessed from the kept pages without fetching.
/// </summary>
public sealed class Ga4ConnectorTests : IAsyncLifetime
{
    private static readonly DateOnly First = ConnectorSetup.Day("2026-11-01");

    private readonly ConnectorSetup _setup = new();
    private FakeGa4 _ga4 = null!;
    private string _credentials = "";

    public async Task InitializeAsync()
    {
        _ga4 = await FakeGa4.StartAsync();
        _credentials = _setup.Secret("ga4.json", _ga4.ServiceAccountJson());
        for (var i = 0; i < 5; i++)
        {
            _ga4.Set("123456", First.AddDays(i), ("sessions", 100 + i), ("activeUsers", 80 + i), ("newUsers", 10 + i));
            _ga4.Set("777", First.AddDays(i), ("sessions", 7), ("activeUsers", 6), ("newUsers", 1));
        }
    }

    public async Task DisposeAsync()
    {
        await _ga4.DisposeAsync();
        _setup.Dispose();
    }

    // The default timeout is generous: a test that is not about timeouts must not fail because a
    // loaded machine (the whole suite, servers included) answered a page in more than a few seconds.
    private EnvironmentConfig Config(string metrics = "[sessions, activeUsers, newUsers]", bool twoProperties = false, double timeout = 60, int retries = 3) =>
        ConnectorSetup.Config($$"""
              ga4:
                base_url: {{_ga4.Server.Url}}
                token_url: {{_ga4.TokenUrl}}
                credentials_file_env: {{_credentials}}
                properties:
                  - {property_id: "123456", app_id: shop-web, platform: web}
            {{(twoProperties ? "      - {property_id: \"777\", app_id: shop-ios, platform: ios}" : "")}}
                metrics: {{metrics}}
                page_size: 2
                timeout_seconds: {{timeout.ToString(System.Globalization.CultureInfo.InvariantCulture)}}
                max_retries: {{retries}}
                retry_base_delay_seconds: 0.01
            """);

    private PipelineRun Run(EnvironmentConfig? config = null, int days = 5) => _setup.Run(config ?? Config(), "ga4", First, First.AddDays(days - 1));

    [Fact]
    public void Fetches_a_range_page_by_page_and_writes_every_day_into_fact_kpi_daily()
    {
        var run = Run();

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Null(ConnectorSetup.ErrorClass(run));
        var facts = _setup.Facts("ga4");
        Assert.Equal(15, facts.Count);
        for (var i = 0; i < 5; i++)
        {
            var day = First.AddDays(i).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(100 + i, facts[$"{day} shop-web web sessions"]);
            Assert.Equal(80 + i, facts[$"{day} shop-web web active_users"]);
            Assert.Equal(10 + i, facts[$"{day} shop-web web new_users"]);
        }
        // 5 rows at 2 per page: 3 pages, each kept as received; one token for the run.
        Assert.Equal(3, _ga4.Server.Hits("report"));
        Assert.Equal(3, _setup.Count("SELECT count(*) FROM connector_pages WHERE provider = 'ga4' AND http_status = 200"));
        Assert.Single(_ga4.IssuedTokens);
        Assert.Equal(15, run.RecordsWritten);
    }

    [Fact]
    public void Running_the_same_range_again_changes_no_row()
    {
        var first = Run();
        var before = _setup.Facts("ga4");
        var second = Run();

        Assert.Equal(RunStatus.Success, second.Status);
        Assert.Equal(0, second.RecordsWritten);
        Assert.Equal(before, _setup.Facts("ga4"));
        Assert.Equal(15, _setup.Count($"SELECT count(*) FROM fact_kpi_daily WHERE run_id = '{first.RunId}'"));
    }

    [Fact]
    public void A_changed_value_is_updated_and_a_metric_no_longer_fetched_is_removed_for_that_day()
    {
        Run();
        _ga4.Set("123456", First, ("sessions", 555), ("activeUsers", 80), ("newUsers", 10));

        var rerun = _setup.Run(Config(metrics: "[sessions, activeUsers]"), "ga4", First, First);

        var facts = _setup.Facts("ga4");
        Assert.Equal(555, facts["2026-11-01 shop-web web sessions"]);
        Assert.False(facts.ContainsKey("2026-11-01 shop-web web new_users"));
        Assert.Equal(11, facts["2026-11-02 shop-web web new_users"]);
        Assert.Equal(2, rerun.RecordsWritten);
    }

    [Fact]
    public void A_429_with_Retry_After_is_waited_for_then_the_page_is_fetched_again()
    {
        _ga4.Server.Enqueue("report", Faults.Status(429, """{"error":{"code":429,"message":"Too many requests","status":"RESOURCE_EXHAUSTED"}}""", retryAfter: "1"));

        var run = Run(days: 2);

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Contains("HTTP 429 (Retry-After 1 s); retried after 1 s", run.Details, StringComparison.Ordinal);
        Assert.Equal(2, _ga4.Server.Hits("report"));
        Assert.Equal(6, _setup.Facts("ga4").Count);
    }

    [Fact]
    public void Server_errors_are_retried_with_backoff_until_the_provider_answers()
    {
        _ga4.Server.Enqueue("report", Faults.Status(503, """{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}"""),
            Faults.Status(500, "internal"));

        var run = Run(days: 2);

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Contains("attempt 1: HTTP 503", run.Details, StringComparison.Ordinal);
        Assert.Contains("attempt 2: HTTP 500", run.Details, StringComparison.Ordinal);
        Assert.Equal(3, _ga4.Server.Hits("report"));
    }

    [Fact]
    public void A_provider_that_never_answers_times_out_and_its_days_are_dead_lettered_as_transient()
    {
        _ga4.Server.Down("report", Faults.Hang);

        var run = Run(Config(timeout: 0.3, retries: 1), days: 2);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("transient", ConnectorSetup.ErrorClass(run));
        Assert.Contains("no answer within the timeout", run.ErrorMessage, StringComparison.Ordinal);
        // One retry, read from the run's own log: the fake server's count can miss a request the
        // client gave up on before a loaded machine got round to dispatching it.
        Assert.Contains("attempt 1: ", run.Details, StringComparison.Ordinal);
        Assert.DoesNotContain("attempt 2: ", run.Details, StringComparison.Ordinal);
        Assert.InRange(_ga4.Server.Hits("report"), 1, 2);
        Assert.Empty(_setup.Facts("ga4"));
        Assert.Equal(["2026-11-01", "2026-11-02"], _setup.DeadLetters().Select(l => l.Day!.Value.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.All(_setup.DeadLetters(), l => Assert.Equal("transient", l.ErrorClass));
    }

    [Fact]
    public void A_revoked_key_fails_fast_as_auth_and_no_report_is_asked_for()
    {
        _ga4.KeyRevoked = true;

        var run = Run(Config(twoProperties: true));

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("auth", ConnectorSetup.ErrorClass(run));
        Assert.Contains("invalid_grant", run.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(0, _ga4.Server.Hits("report"));
        Assert.Equal(1, _ga4.Server.Hits("token"));
        // The second property was not tried but its days wait for a replay too.
        Assert.Equal(10, _setup.DeadLetters().Count);
        Assert.Contains("not tried", run.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_access_token_is_replaced_once_and_the_run_goes_on()
    {
        // The token expires between the token call and the first report.
        _ga4.Server.Enqueue("report", async c =>
        {
            _ga4.ExpireTokens();
            await Faults.Status(401, """{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}""")(c);
        });

        var run = Run();

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Equal(2, _ga4.IssuedTokens.Count);
        Assert.Equal(15, _setup.Facts("ga4").Count);
    }

    [Fact]
    public void Missing_credentials_are_an_auth_failure_that_names_the_variable()
    {
        Environment.SetEnvironmentVariable(_credentials, null);

        var run = Run();

        Assert.Equal("auth", ConnectorSetup.ErrorClass(run));
        Assert.Contains($"the environment variable {_credentials} is not set", run.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_renamed_metric_fails_as_schema_keeps_the_answer_and_a_replay_reads_it_again_without_fetching()
    {
        _ga4.RenamedMetrics = ["sessions", "active1DayUsers", "newUsers"];

        var run = Run(days: 2);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("schema", ConnectorSetup.ErrorClass(run));
        Assert.Contains("active1DayUsers", run.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(_setup.Facts("ga4"));
        Assert.Equal(1, _setup.Count($"SELECT count(*) FROM connector_pages WHERE run_id = '{run.RunId}'"));
        var hits = _ga4.Server.Hits("report");

        // The mapping is updated to the new name; the replay parses the kept page.
        var replay = _setup.Replay(Config(metrics: "[sessions, active1DayUsers, newUsers]"), "ga4");

        Assert.Equal(RunStatus.Success, replay.Status);
        Assert.Equal(hits, _ga4.Server.Hits("report"));
        Assert.Contains("reprocessed from the 1 kept page(s), not fetched", replay.Details, StringComparison.Ordinal);
        Assert.Equal(81, _setup.Facts("ga4")["2026-11-02 shop-web web active1_day_users"]);
        Assert.Empty(_setup.DeadLetters());
        Assert.All(_setup.DeadLetters(all: true), l => Assert.Equal(replay.RunId, l.ResolvedBy));
    }

    [Fact]
    public void A_field_the_API_started_sending_is_ignored_and_noted()
    {
        _ga4.ExtraMembers["samplingMetadatas"] = new[] { new Dictionary<string, string> { ["samplesReadCount"] = "1000" } };

        var run = Run(days: 1);

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Contains("ignored unknown field 'samplingMetadatas'", ConnectorSetup.Notes(run), StringComparison.Ordinal);
        Assert.Equal(3, _setup.Facts("ga4").Count);
    }

    [Fact]
    public void An_exhausted_property_quota_is_a_quota_failure()
    {
        _ga4.Server.Down("report", Faults.Status(429, """{"error":{"code":429,"message":"Exhausted property tokens per day for a property.","status":"RESOURCE_EXHAUSTED"}}"""));

        var run = Run(Config(retries: 1), days: 1);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("quota", ConnectorSetup.ErrorClass(run));
        Assert.Contains("Exhausted property tokens per day", run.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("quota", Assert.Single(_setup.DeadLetters()).ErrorClass);
    }

    [Fact]
    public void Garbage_instead_of_a_report_is_a_schema_failure_not_a_crash()
    {
        _ga4.Server.Enqueue("report", Faults.Garbage);

        var run = Run(days: 1);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("schema", ConnectorSetup.ErrorClass(run));
        Assert.Contains("not JSON", run.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, _setup.Count("SELECT count(*) FROM connector_pages WHERE CAST(body AS TEXT) LIKE '%nginx%'"));
    }

    [Fact]
    public void A_failing_second_page_leaves_every_day_of_the_unit_unwritten()
    {
        _ga4.Server.Enqueue("report", Faults.Pass, Faults.Garbage);

        var run = Run();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(2, _ga4.Server.Hits("report"));
        Assert.Empty(_setup.Facts("ga4"));
        Assert.Equal(5, _setup.DeadLetters().Count);
        Assert.Equal(2, _setup.Count($"SELECT count(*) FROM connector_pages WHERE run_id = '{run.RunId}'"));
    }

    [Fact]
    public void An_empty_day_is_recorded_and_writes_nothing()
    {
        var run = _setup.Run(Config(), "ga4", ConnectorSetup.Day("2026-10-01"), ConnectorSetup.Day("2026-10-01"));

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Contains("empty day 2026-10-01", run.Details, StringComparison.Ordinal);
        Assert.Empty(_setup.Facts("ga4"));
    }

    [Fact]
    public void A_ten_fold_spike_is_written_and_flagged_in_the_run()
    {
        Run();
        _ga4.Set("123456", First.AddDays(5), ("sessions", 1020), ("activeUsers", 81), ("newUsers", 12));

        var run = _setup.Run(Config(), "ga4", First.AddDays(5), First.AddDays(5));

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Equal(1020, _setup.Facts("ga4")["2026-11-06 shop-web web sessions"]);
        Assert.Contains("spike: sessions of shop-web on 2026-11-06 is 1020", run.Details, StringComparison.Ordinal);
        Assert.DoesNotContain("spike: active_users", run.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_never_reach_the_data_folder_or_the_run_records()
    {
        var ok = Run();
        _ga4.KeyRevoked = true;
        var failed = Run();
        Assert.Equal(RunStatus.Success, ok.Status);
        Assert.Equal("auth", ConnectorSetup.ErrorClass(failed));

        var keyLines = _ga4.Key.ExportPkcs8PrivateKeyPem().Split('\n').Where(l => l.Length == 64).ToList();
        var secrets = keyLines.Append(_ga4.IssuedTokens.Single()).ToList();
        Assert.True(keyLines.Count > 10);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in Directory.EnumerateFiles(_setup.DataDirectory, "*", SearchOption.AllDirectories))
        {
            var content = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(file));
            Assert.DoesNotContain(secrets, s => content.Contains(s, StringComparison.Ordinal));
        }
        Assert.DoesNotContain(secrets, s => (failed.Details + failed.ErrorMessage + ok.Details).Contains(s, StringComparison.Ordinal));
    }
}
