using System.Globalization;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// The Meta Ads connector against a local Graph API insights server: cursor paging and the sum
/// of campaigns per day, Graph error codes (190 auth, 17 quota) classified without retries, a
/// changed shape, and a provider that stays down opening the circuit breaker.
/// </summary>
public sealed class MetaAdsConnectorTests : IAsyncLifetime
{
    private static readonly DateOnly First = ConnectorSetup.Day("2026-11-10");

    private readonly ConnectorSetup _setup = new();
    private FakeMetaAds _meta = null!;
    private string _credentials = "";

    public async Task InitializeAsync()
    {
        _meta = await FakeMetaAds.StartAsync();
        _credentials = _setup.Secret("meta.token", _meta.Token + "\n");
        for (var d = 0; d < 3; d++)
        {
            for (var c = 1; c <= 3; c++)
            {
                _meta.Rows.Add(("1001", First.AddDays(d), "c" + c, 10.25 * c + d, 1000 * c, 50 * c, c == 2 ? 0 : 4 * c + d));
            }
        }
    }

    public async Task DisposeAsync()
    {
        await _meta.DisposeAsync();
        _setup.Dispose();
    }

    private EnvironmentConfig Config(int retries = 2, int breaker = 4) => ConnectorSetup.Config($$"""
          meta_ads:
            base_url: {{_meta.Server.Url}}
            credentials_file_env: {{_credentials}}
            api_version: v21.0
            ad_accounts:
              - {account_id: "1001", app_id: shop-android, platform: android}
            page_size: 2
            max_retries: {{retries}}
            retry_base_delay_seconds: 0.01
            breaker_minimum_throughput: {{breaker}}
            breaker_break_seconds: 30
        """);

    private PipelineRun Run(EnvironmentConfig? config = null) => _setup.Run(config ?? Config(), "meta_ads", First, First.AddDays(2));

    [Fact]
    public void Follows_the_cursor_through_every_page_and_sums_the_campaigns_of_each_day()
    {
        var run = Run();

        Assert.Equal(RunStatus.Success, run.Status);
        // 9 campaign rows at 2 per page: 5 pages.
        Assert.Equal(5, _meta.Server.Hits("insights"));
        Assert.All(_meta.Versions, v => Assert.Equal("v21.0", v));
        var facts = _setup.Facts("meta_ads");
        for (var d = 0; d < 3; d++)
        {
            var day = First.AddDays(d).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var rows = _meta.Rows.Where(r => r.Day == First.AddDays(d)).ToList();
            Assert.Equal(Math.Round(rows.Sum(r => r.Spend), 2), facts[$"{day} shop-android android spend"], 6);
            Assert.Equal(rows.Sum(r => r.Impressions), facts[$"{day} shop-android android impressions"]);
            Assert.Equal(rows.Sum(r => r.Clicks), facts[$"{day} shop-android android clicks"]);
            Assert.Equal(rows.Sum(r => r.Installs), facts[$"{day} shop-android android installs"]);
        }
        Assert.Equal(12, facts.Count);
    }

    [Fact]
    public void An_expired_token_is_an_auth_failure_at_the_first_call()
    {
        _meta.Token = "EAAG-rotated";

        var run = Run();

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("auth", ConnectorSetup.ErrorClass(run));
        Assert.Contains("code 190/463", run.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, _meta.Server.Hits("insights"));
        Assert.Empty(_setup.Facts("meta_ads"));
    }

    [Fact]
    public void An_account_rate_limit_is_a_quota_failure_and_is_not_retried()
    {
        _meta.Server.Enqueue("insights", Faults.Status(400, FakeMetaAds.Error(17, "(#17) User request limit reached", type: "OAuthException")));

        var run = Run();

        Assert.Equal("quota", ConnectorSetup.ErrorClass(run));
        Assert.Equal(1, _meta.Server.Hits("insights"));
        Assert.Equal(3, _setup.DeadLetters().Count);

        // Once the limit resets, a replay fetches the days again and resolves the dead letters.
        var replay = _setup.Replay(Config(), "meta_ads");
        Assert.Equal(RunStatus.Success, replay.Status);
        Assert.Empty(_setup.DeadLetters());
        Assert.Equal(12, _setup.Facts("meta_ads").Count);
    }

    [Fact]
    public void A_list_under_another_name_is_a_schema_failure_with_the_page_kept()
    {
        _meta.DataMember = "results";

        var run = Run();

        Assert.Equal("schema", ConnectorSetup.ErrorClass(run));
        Assert.Contains("has no 'data'", run.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, _setup.Count($"SELECT count(*) FROM connector_pages WHERE run_id = '{run.RunId}' AND CAST(body AS TEXT) LIKE '%results%'"));
    }

    [Fact]
    public void A_provider_that_stays_down_opens_the_breaker_and_later_days_are_not_called()
    {
        _meta.Server.Down("insights", Faults.Status(503, FakeMetaAds.Error(2, "Service temporarily unavailable", type: "OAuthException")));

        // Three single-day runs: the first uses its attempts and opens the breaker, the others fail without a call.
        var config = Config(retries: 3, breaker: 4);
        var runs = Enumerable.Range(0, 3).Select(d => _setup.Run(config, "meta_ads", First.AddDays(d), First.AddDays(d))).ToList();

        Assert.All(runs, r => Assert.Equal("transient", ConnectorSetup.ErrorClass(r)));
        Assert.Equal(4, _meta.Server.Hits("insights"));
        Assert.Contains("circuit breaker is open", runs[2].ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(3, _setup.DeadLetters().Count);
    }
}
