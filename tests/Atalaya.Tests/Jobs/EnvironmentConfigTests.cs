using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Jobs;

/// <summary>config/environments/*.yaml: the shipped files load, and every kind of mistake stops the start with a message saying where and what.</summary>
public sealed class EnvironmentConfigTests
{
    private static string Shipped => Path.Combine(AppContext.BaseDirectory, "config", "environments");

    [Theory]
    [InlineData("dev")]
    [InlineData("stg")]
    [InlineData("prod")]
    public void The_shipped_environments_load_and_prod_is_the_strictest(string name)
    {
        var config = EnvironmentFiles.Load(Shipped, name);
        var prod = EnvironmentFiles.Load(Shipped, "prod");

        Assert.Equal(name, config.Environment);
        Assert.False(config.Retention.Enabled);
        Assert.True(config.Kpi.Thresholds.PaymentSuccessCritical <= prod.Kpi.Thresholds.PaymentSuccessCritical);
        Assert.True(config.Kpi.Thresholds.LeadsCritical <= prod.Kpi.Thresholds.LeadsCritical);
        // Quality limits: prod warns and fails first.
        Assert.True(config.Quality.FreshnessFailHours >= prod.Quality.FreshnessFailHours);
        Assert.True(config.Quality.NullRateWarnPct >= prod.Quality.NullRateWarnPct);
        Assert.True(config.Quality.VolumeZFail >= prod.Quality.VolumeZFail);
    }

    private static string Valid => File.ReadAllText(Path.Combine(Shipped, "dev.yaml"));

    [Theory]
    [InlineData("refresh_schedule: \"0 */6 * * *\"", "refres_schedule: \"0 */6 * * *\"", "unknown key 'refres_schedule'")]
    [InlineData("refresh_schedule: \"0 */6 * * *\"", "refresh_schedule: \"every 6 hours\"", "kpi.refresh_schedule: 'every 6 hours' is not a cron expression")]
    [InlineData("daily_schedule: \"0 8 * * *\"", "daily_schedule: \"0 25 * * *\"", "reports.daily_schedule: '0 25 * * *' is not a cron expression")]
    [InlineData("leads_critical: 20", "leads_critical: 90", "kpi.thresholds.leads_critical (90) must not be above leads_warning (40)")]
    [InlineData("payment_success_warning: 90", "payment_success_warning: 190", "kpi.thresholds.payment_success_warning: must be from 0 to 100, got 190")]
    [InlineData("raw_events_months: 24", "raw_events_months: 0", "retention.raw_events_months: must be at least 1, got 0")]
    [InlineData("raw_events_months: 24", "raw_events_months: two", "dev.yaml:")]
    [InlineData("environment: dev", "environment: prod", "environment: is 'prod', but the file is for 'dev'")]
    [InlineData("null_rate_warn_pct: 5 ", "null_rate_warn_pct: 50 ", "quality.null_rate_warn_pct (50) must not be above null_rate_fail_pct (20)")]
    [InlineData("volume_z_fail: 6", "volume_z_fail: -1", "quality.volume_z_fail: must be from 0 to any, got -1")]
    [InlineData("null_rate_warn_pct: 5 ", "null_rat_warn_pct: 5 ", "unknown key 'null_rat_warn_pct'")]
    public void A_mistake_is_named_with_its_key_and_what_is_allowed(string from, string to, string message)
    {
        Assert.Contains(from, Valid);

        var error = Assert.Throws<ConfigException>(() => EnvironmentFiles.Parse(Valid.Replace(from, to, StringComparison.Ordinal), "config/environments/dev.yaml", "dev"));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task Serve_refuses_to_start_on_a_bad_environment_and_says_why()
    {
        var folder = Path.Combine(Path.GetTempPath(), "atalaya-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "stg.yaml"), Valid.Replace("environment: dev", "environment: stg").Replace("15 0 * * *", "15 0 * *"));

        var bad = await AtalayaProcess.RunAsync("serve", "--env", "stg", "--config", folder, "--data", Path.Combine(folder, "data"), "--urls", "http://127.0.0.1:0");
        var missing = await AtalayaProcess.RunAsync("jobs", "list", "--env", "prod", "--config", folder, "--data", Path.Combine(folder, "data"));
        var unknown = await AtalayaProcess.RunAsync("jobs", "list", "--env", "qa", "--data", Path.Combine(folder, "data"));

        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("jobs.daily_batch_schedule: '15 0 * *' is not a cron expression", bad.Stderr);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("prod.yaml not found", missing.Stderr);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("unknown environment 'qa'; use one of dev, stg, prod", unknown.Stderr);
    }
}
