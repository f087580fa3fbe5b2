using System.Globalization;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// <c>atalaya connectors …</c> as a user runs it (the real executable): a run against a local
/// Meta server, its exit codes for success, failure and bad input, dead letters listed and replayed.
/// </summary>
public sealed class ConnectorsCliTests : IAsyncLifetime
{
    private readonly ConnectorSetup _setup = new();
    private FakeMetaAds _meta = null!;
    private string _configDirectory = "";

    public async Task InitializeAsync()
    {
        _meta = await FakeMetaAds.StartAsync();
        var credentials = _setup.Secret("meta.token", _meta.Token);
        _meta.Rows.Add(("1001", ConnectorSetup.Day("2026-11-01"), "c1", 20, 1000, 40, 3));
        _configDirectory = Path.Combine(_setup.CredentialsDirectory, "environments");
        Directory.CreateDirectory(_configDirectory);
        await File.WriteAllTextAsync(Path.Combine(_configDirectory, "dev.yaml"), $$"""
            environment: dev
            connectors:
              meta_ads:
                base_url: {{_meta.Server.Url}}
                credentials_file_env: {{credentials}}
                ad_accounts:
                  - {account_id: "1001", app_id: shop-android, platform: android}
                max_retries: 0
            """);
    }

    public async Task DisposeAsync()
    {
        await _meta.DisposeAsync();
        _setup.Dispose();
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> Atalaya(params string[] args) =>
        AtalayaProcess.RunAsync([.. args, "--data", _setup.DataDirectory, "--config", _configDirectory, "--env", "dev"]);

    [Fact]
    public async Task Run_writes_the_range_and_exits_zero()
    {
        var (exit, stdout, stderr) = await Atalaya("connectors", "run", "meta_ads", "--start", "2026-11-01", "--end", "2026-11-01");

        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("connector_meta_ads", stdout, StringComparison.Ordinal);
        Assert.Contains("success, 4 records written", stdout, StringComparison.Ordinal);
        Assert.Equal(20, _setup.Facts("meta_ads")["2026-11-01 shop-android android spend"]);
    }

    [Fact]
    public async Task A_failed_run_exits_one_names_the_class_and_leaves_dead_letters_to_replay()
    {
        _meta.Token = "rotated";
        var (exit, stdout, _) = await Atalaya("connectors", "run", "meta_ads", "--start", "2026-11-01", "--end", "2026-11-01");

        Assert.Equal(1, exit);
        Assert.Contains("error class: auth", stdout, StringComparison.Ordinal);
        var (_, listed, _) = await AtalayaProcess.RunAsync("connectors", "dead-letters", "--data", _setup.DataDirectory);
        Assert.Contains("meta_ads", listed, StringComparison.Ordinal);
        Assert.Contains("2026-11-01", listed, StringComparison.Ordinal);

        _meta.Token = File.ReadAllText(Path.Combine(_setup.CredentialsDirectory, "meta.token"));
        var (replayExit, replayed, replayErr) = await Atalaya("connectors", "replay", "meta_ads");

        Assert.True(replayExit == 0, replayed + replayErr);
        Assert.Empty(_setup.DeadLetters());
        Assert.Equal(4, _setup.Facts("meta_ads").Count);
    }

    [Theory]
    [InlineData("connectors run facebook", "unknown connector 'facebook'; use one of ga4, meta_ads, app_store")]
    [InlineData("connectors run ga4", "ga4 is not configured")]
    [InlineData("connectors run meta_ads --start 2026-02-30", "--start '2026-02-30' is not a date")]
    [InlineData("connectors run meta_ads --start 2026-11-05 --end 2026-11-01", "is after --end")]
    [InlineData("connectors run meta_ads --app shop-web", "--app shop-web is not mapped in connectors.meta_ads")]
    [InlineData("connectors replay --id 99", "--id 99: no open connector dead letter")]
    public async Task Bad_input_exits_two_and_says_what_to_fix(string args, string message)
    {
        var (exit, _, stderr) = await Atalaya(args.Split(' '));

        Assert.Equal(2, exit);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_day_that_is_not_closed_is_refused()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var (exit, _, stderr) = await Atalaya("connectors", "run", "meta_ads", "--start", today);

        Assert.Equal(2, exit);
        Assert.Contains("is not a closed day", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("connectors run --help", "--start")]
    [InlineData("connectors replay --help", "--id")]
    [InlineData("connectors dead-letters --help", "--all")]
    [InlineData("webhooks replay --help", "--id")]
    public async Task Every_command_has_help(string args, string option)
    {
        var (exit, stdout, _) = await AtalayaProcess.RunAsync(args.Split(' '));

        Assert.Equal(0, exit);
        Assert.Contains(option, stdout, StringComparison.Ordinal);
    }
}
