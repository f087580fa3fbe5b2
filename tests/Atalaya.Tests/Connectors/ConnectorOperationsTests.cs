using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Quality;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// Connectors among the other parts: the environment file's connectors section (validated, its
/// schedules and jobs), the marts leaving connector rows alone, and the quality findings that
/// stand in for alerts (a connector failing two scheduled days running, open dead letters).
/// </summary>
public sealed class ConnectorOperationsTests : IAsyncLifetime
{
    private readonly ConnectorSetup _setup = new();
    private FakeMetaAds _meta = null!;
    private string _credentials = "";

    public async Task InitializeAsync()
    {
        _meta = await FakeMetaAds.StartAsync();
        _credentials = _setup.Secret("meta.token", _meta.Token);
        _meta.Rows.Add(("1001", ConnectorSetup.Day("2026-11-01"), "c1", 12.5, 1000, 40, 3));
    }

    public async Task DisposeAsync()
    {
        await _meta.DisposeAsync();
        _setup.Dispose();
    }

    private EnvironmentConfig Config() => ConnectorSetup.Config($$"""
          meta_ads:
            schedule: "0 3 * * *"
            base_url: {{_meta.Server.Url}}
            credentials_file_env: {{_credentials}}
            ad_accounts:
              - {account_id: "1001", app_id: shop-android, platform: android}
            max_retries: 0
        """);

    [Fact]
    public void A_configured_connector_is_a_scheduled_job_with_its_own_lock()
    {
        var config = Config();

        var job = JobCatalog.Find(config, "connector_meta_ads");

        Assert.NotNull(job);
        Assert.True(job.Scheduled);
        Assert.Equal("connector_meta_ads", job.LockName);
        Assert.Equal("0 3 * * *", config.Schedules[job.ScheduleKey]);
        Assert.Null(JobCatalog.Find(config, "connector_ga4"));
    }

    [Theory]
    [InlineData("  ga4:\n    base_url: not-a-url\n    credentials_file_env: X\n    properties: [{property_id: '1', app_id: a, platform: web}]", "connectors.ga4.base_url")]
    [InlineData("  ga4:\n    credentials_file_env: X\n    properties: []", "connectors.ga4: lists no app")]
    [InlineData("  ga4:\n    credentials_file_env: X\n    properties: [{property_id: '1', app_id: a, platform: tv}]", "platform 'tv'")]
    [InlineData("  meta_ads:\n    credentials_file_env: X\n    ad_accounts: [{account_id: act_1, app_id: a, platform: ios}]", "without the act_ prefix")]
    [InlineData("  meta_ads:\n    credentials_file_env: ''\n    ad_accounts: [{account_id: '1', app_id: a, platform: ios}]", "credentials_file_env")]
    [InlineData("  app_store:\n    credentials_file_env: X\n    apps: [{apple_id: '1', app_id: a}]", "connectors.app_store.key_id: required")]
    [InlineData("  ga4:\n    schedule: 'every day'\n    credentials_file_env: X\n    properties: [{property_id: '1', app_id: a, platform: web}]", "connectors.ga4.schedule")]
    [InlineData("  ga4:\n    credentials_file: X", "unknown key 'credentials_file'")]
    public void A_wrong_connectors_section_stops_the_start_with_the_key_named(string connectors, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConnectorSetup.Config(connectors));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_environment_files_still_load()
    {
        foreach (var name in EnvironmentConfig.Names)
        {
            var config = EnvironmentFiles.Load(Path.Combine(RepositoryRoot(), "config", "environments"), name);
            Assert.Empty(config.Connectors.Configured());
        }
    }

    [Fact]
    public void The_marts_never_rebuild_or_delete_rows_the_connectors_wrote()
    {
        var day = ConnectorSetup.Day("2026-11-01");
        _setup.Run(Config(), "meta_ads", day, day);
        var before = _setup.Facts("meta_ads");
        Assert.Equal(4, before.Count);

        var marts = MartStore.Sqlite(_setup.Database);
        marts.Run(connection =>
        {
            using var transaction = connection.BeginTransaction();
            var table = marts.Table(connection, "fact_kpi_daily");
            // The event-derived computation produced nothing for the day: its own rows would go, the connector's stay.
            MartWriter.Merge(marts, connection, transaction, table, "fact_kpi_daily", [], day, day, DimensionFilter.None);
            transaction.Commit();
            return 0;
        });

        Assert.Equal(before, _setup.Facts("meta_ads"));
    }

    [Fact]
    public void A_connector_failing_two_scheduled_days_running_is_a_failed_finding_and_its_dead_letters_too()
    {
        var config = Config();
        var clock = new MovableClock(new DateTimeOffset(2026, 11, 2, 3, 0, 0, TimeSpan.Zero));
        var first = _setup.Scheduled(config, "meta_ads", clock);
        Assert.Equal(RunStatus.Success, first.Status);
        Assert.Equal(4, _setup.Facts("meta_ads").Count);

        _meta.Token = "rotated";
        clock.Now = clock.Now.AddDays(1);
        _setup.Scheduled(config, "meta_ads", clock);
        var oneDay = Findings(config, clock);
        Assert.Equal(QualityStatus.Warn, oneDay.Single(f => f.Check == "connector").Status);

        clock.Now = clock.Now.AddDays(1);
        var second = _setup.Scheduled(config, "meta_ads", clock);
        Assert.Equal("auth", ConnectorSetup.ErrorClass(second));

        var findings = Findings(config, clock);
        var connector = findings.Single(f => f.Check == "connector");
        Assert.Equal(QualityStatus.Fail, connector.Status);
        Assert.Equal(2, connector.Value);
        Assert.Contains("connector_meta_ads failed on its last 2 scheduled day(s)", connector.Message, StringComparison.Ordinal);
        var letters = findings.Single(f => f.Check == "dead_letters");
        Assert.Equal("connector:meta_ads", letters.Subject);
        Assert.Equal(QualityStatus.Fail, letters.Status);
        Assert.Equal(2, letters.Value);
        Assert.Contains("atalaya connectors replay meta_ads", letters.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manual_run_that_fails_does_not_count_as_a_scheduled_day()
    {
        var config = Config();
        var clock = new MovableClock(new DateTimeOffset(2026, 11, 2, 3, 0, 0, TimeSpan.Zero));
        _setup.Scheduled(config, "meta_ads", clock);
        _meta.Token = "rotated";
        _setup.Run(config, "meta_ads", ConnectorSetup.Day("2026-11-01"), ConnectorSetup.Day("2026-11-01"), time: clock);

        Assert.Equal(QualityStatus.Ok, Findings(config, clock).Single(f => f.Check == "connector").Status);
    }

    [Fact]
    public async Task The_runs_API_shows_the_error_class_of_a_connector_run()
    {
        var config = Config();
        await using var hub = await Support.TestHub.StartAsync(o => o with { Config = config }, Path.Combine(_setup.CredentialsDirectory, "hub"));
        _meta.Token = "rotated";
        var runner = new JobRunner(hub.Hub.Database, hub.Hub.Kpis, config);
        var run = runner.Execute(runner.TryBegin(Engine.Connectors.ConnectorJobs.Definition("meta_ads",
            _ => new Engine.Connectors.ConnectorRequest("meta_ads", ConnectorSetup.Day("2026-11-01"), ConnectorSetup.Day("2026-11-01"))), "cli", "meta_ads", out _)!);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runs?job=connector_meta_ads");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", hub.CreateToken(Engine.Access.Role.Admin));

        using var response = await hub.Client.SendAsync(request);

        using var answer = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var row = Assert.Single(answer.RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal(run.RunId, row.GetProperty("run_id").GetString());
        Assert.Equal("auth", row.GetProperty("error_class").GetString());
        Assert.Equal("failed", row.GetProperty("status").GetString());
    }

    private IReadOnlyList<QualityResult> Findings(EnvironmentConfig config, TimeProvider clock) =>
        new QualityChecks(_setup.Database, Engine.Catalog.EventCatalog.Default, config, Engine.JobCatalog.All(config), clock).Run();

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
