using Atalaya.Engine;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Config;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Alerts;

/// <summary>The environment files' alerts section: the shipped rules compile (prod strictest), and each mistake names its key.</summary>
public sealed class AlertConfigTests
{
    private static string Shipped => Path.Combine(AppContext.BaseDirectory, "config", "environments");

    [Fact]
    public void The_shipped_rules_compile_every_kind_and_prod_is_the_strictest()
    {
        var dev = EnvironmentFiles.Load(Shipped, "dev");
        var stg = EnvironmentFiles.Load(Shipped, "stg");
        var prod = EnvironmentFiles.Load(Shipped, "prod");
        Assert.Equal(Enum.GetValues<RuleKind>().Where(k => k != RuleKind.DeadLetters).Order(), AlertRuleSet.Compile(prod).Select(r => r.Kind).Distinct().Order());
        foreach (var other in new[] { dev, stg })
        {
            Assert.Equal(AlertRuleSet.Compile(prod).Select(r => r.Name), AlertRuleSet.Compile(other).Select(r => r.Name));
            foreach (var (p, o) in AlertRuleSet.Compile(prod).Zip(AlertRuleSet.Compile(other)))
            {
                // Floors are higher and ratios closer to 1 in prod: it fires first.
                Assert.True((p.Below ?? 0) >= (o.Below ?? 0), p.Name);
                Assert.True(p.Limit >= o.Limit || p.Kind == RuleKind.ZScore, p.Name);
            }
            Assert.True(prod.Alerts.EvaluateInterval <= other.Alerts.EvaluateInterval);
        }
        // The KPI floors are the thresholds the file declares under kpi.thresholds.
        foreach (var config in new[] { dev, stg, prod })
        {
            var t = config.Kpi.Thresholds;
            Assert.Equal(t.LeadsWarning, Rule(config, "leads-low").Below);
            Assert.Equal(t.LeadsCritical, Rule(config, "leads-critical").Below);
            Assert.Equal(t.RevenueVsAvg7dWarning, Rule(config, "revenue-vs-week").Limit);
            Assert.Equal(t.RevenueVsAvg7dCritical, Rule(config, "revenue-vs-week-critical").Limit);
            Assert.Equal(t.PaymentSuccessWarning, Rule(config, "payment-success-low").Below);
            Assert.Equal(t.PaymentSuccessCritical, Rule(config, "payment-success-critical").Below);
        }
    }

    private static AlertRule Rule(EnvironmentConfig config, string name) => AlertRuleSet.Compile(config).Single(r => r.Name == name);

    [Theory]
    [InlineData("{name: a, kpi: gmvv, window: 24h, below: 1}", "alerts.rules[0] (a).kpi: 'gmvv' is not a KPI id")]
    [InlineData("{name: a, kpi: gmv, window: 24x, below: 1}", "alerts.rules[0] (a).window: '24x' must be a duration")]
    [InlineData("{name: a, kpi: gmv, below: 1, ratio_to_avg7d_below: 0.5}", "alerts.rules[0] (a): a rule needs exactly one of")]
    [InlineData("{name: a, kpi: gmv, window: 48h, ratio_to_avg7d_below: 0.5}", "alerts.rules[0] (a).window: compared with the same hours of earlier days, the window can be at most 24h")]
    [InlineData("{name: a, kpi: gmv, below: 1, severity: urgent}", "alerts.rules[0] (a).severity: 'urgent' is not info, warning or critical")]
    [InlineData("{name: a, kpi: gmv, below: 1, channels: [nowhere]}", "alerts.rules[0] (a).channels: no channel named 'nowhere'")]
    [InlineData("{name: a, pipeline: daily_batch}", "alerts.rules[0] (a).max_age: '' must be a duration")]
    [InlineData("{name: a, quality_check: fresh}", "alerts.rules[0] (a).quality_check: 'fresh' is not a check")]
    [InlineData("{name: a, kpi: gmv, below: 1, scope: {countri: MX}}", "alerts.rules[0] (a).scope.countri: not a dimension")]
    [InlineData("{name: a, kpi: gmv, below: 1, colour: red}", "unknown key 'colour'")]
    public void A_bad_rule_is_named_with_its_key(string rule, string message)
    {
        var error = Assert.Throws<ConfigException>(() => Parse($"  channels: []\n  rules:\n    - {rule}\n"));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{name: t, type: slack, url: \"https://hooks.example/T/B/x\"}", "alerts.channels[0] (t).url: a Slack webhook URL is a secret")]
    [InlineData("{name: t, type: webhook, url: \"http://127.0.0.1:9/h\"}", "alerts.channels[0] (t): a webhook channel needs its signing key in secret_env or secret_file")]
    [InlineData("{name: t, type: webhook, url: \"http://127.0.0.1:9/h\", secret_env: ATALAYA_TEST_UNSET_VARIABLE}", "alerts.channels[0] (t).secret_env: the environment variable ATALAYA_TEST_UNSET_VARIABLE is not set")]
    [InlineData("{name: t, type: webhook, url: \"ftp://x/h\", secret_file: /nonexistent/key}", "alerts.channels[0] (t).url: 'ftp://x/h' is not an http(s) URL")]
    [InlineData("{name: t, type: webhook, url: \"http://127.0.0.1:9/h\", secret_file: /nonexistent/key}", "alerts.channels[0] (t).secret_file: the file /nonexistent/key does not exist")]
    [InlineData("{name: t, type: email, smtp: \"localhost\", from: \"a@b\", to: [\"c@d\"]}", "alerts.channels[0] (t).smtp: needs host:port")]
    [InlineData("{name: t, type: pager}", "alerts.channels[0] (t).type: 'pager' is not a channel type")]
    public void A_bad_channel_is_named_with_its_key(string channel, string message)
    {
        var error = Assert.Throws<ConfigException>(() => Parse($"  channels:\n    - {channel}\n"));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_to_start_on_a_bad_rule_and_names_it()
    {
        var folder = Path.Combine(Path.GetTempPath(), "atalaya-alertconfig-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var yaml = File.ReadAllText(Path.Combine(Shipped, "dev.yaml")).Replace("zscore_above: 5", "zscore_above: -5", StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(folder, "dev.yaml"), yaml);
            var (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--config", folder, "--data", Path.Combine(folder, "data"), "--urls", "http://127.0.0.1:0");
            Assert.Equal(2, exit);
            Assert.Contains("alerts.rules[6] (orders-anomaly).zscore_above: must be above 0", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static EnvironmentConfig Parse(string alerts) =>
        EnvironmentFiles.Parse("environment: dev\nalerts:\n" + alerts, "config/environments/dev.yaml", "dev");
}
