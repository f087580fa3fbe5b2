using System.Globalization;
using NCrontab;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Atalaya.Engine.Config;

/// <summary>A configuration file that cannot be used; the message names the file, the key and what is allowed.</summary>
public sealed class ConfigException(string message) : Exception(message);

/// <summary>
/// Schedules and thresholds of one environment (seed 003: <c>environments/{dev,stg,prod}.yaml</c>):
/// cron expressions in UTC for the jobs, alert thresholds, report schedules and the retention
/// policy. Loaded and validated when the hub starts: a typo, an unknown key, a bad cron expression
/// or thresholds in the wrong order stop the start with a message that says where and how to fix it.
/// </summary>
public sealed class EnvironmentConfig
{
    public static readonly IReadOnlyList<string> Names = ["dev", "stg", "prod"];

    public string Environment { get; set; } = "";

    public JobsSection Jobs { get; set; } = new();

    public KpiSection Kpi { get; set; } = new();

    public ReportsSection Reports { get; set; } = new();

    public RetentionSection Retention { get; set; } = new();

    /// <summary>Minimisation at collection (docs/privacy.md): how much of an IP address is kept.</summary>
    public PrivacySection Privacy { get; set; } = new();

    public QualitySection Quality { get; set; } = new();

    /// <summary>Alert rules and notification channels (Alerts/, docs/alerts.md).</summary>
    public AlertsSection Alerts { get; set; } = new();

    /// <summary>
    /// A check a feature above this folder makes of its own section at load (the alert rules name
    /// KPIs: Alerts/AlertRuleSet), adding its problems to the others. Atalaya.Engine.EnvironmentFiles
    /// loads with every feature's checks.
    /// </summary>
    public delegate void SectionCheck(EnvironmentConfig config, List<string> problems);

    /// <summary>Outside providers fetched D+1 (Connectors/); none unless configured.</summary>
    public ConnectorsSection Connectors { get; set; } = new();

    /// <summary>Providers allowed to POST /api/webhooks/{provider} (Webhooks/); none unless configured.</summary>
    public Dictionary<string, WebhookSettings> Webhooks { get; set; } = [];

    /// <summary>Storefront recommendations (Recommendations/, docs/recommendations.md).</summary>
    public RecommendationsSection Recommendations { get; set; } = new();

    /// <summary>Scale-out: what <c>serve --clickhouse --rabbitmq --postgres</c> say (docs/scale-out.md); empty for the embedded hub.</summary>
    public ClusterSection Cluster { get; set; } = new();

    /// <summary>The file it came from (for messages).</summary>
    [YamlIgnore]
    public string Source { get; private set; } = "";

    public sealed class JobsSection
    {
        /// <summary>The D+1 batch: marts for yesterday.</summary>
        public string DailyBatchSchedule { get; set; } = "15 0 * * *";
    }

    public sealed class KpiSection
    {
        public ThresholdsSection Thresholds { get; set; } = new();

        /// <summary>Refreshes the marts for late events (seed 003's materialized-view refresh).</summary>
        public string RefreshSchedule { get; set; } = "0 */4 * * *";

        /// <summary>Data-quality health checks.</summary>
        public string DqHealthSchedule { get; set; } = "0 */6 * * *";
    }

    public sealed class ThresholdsSection
    {
        public double LeadsCritical { get; set; } = 50;
        public double LeadsWarning { get; set; } = 80;
        public double RevenueVsAvg7dCritical { get; set; } = 0.7;
        public double RevenueVsAvg7dWarning { get; set; } = 0.85;
        public double PaymentSuccessCritical { get; set; } = 92;
        public double PaymentSuccessWarning { get; set; } = 95;
    }

    public sealed class ReportsSection
    {
        public string DailySchedule { get; set; } = "0 8 * * *";
        public string WeeklySchedule { get; set; } = "0 9 * * 1";
        public string MonthlySchedule { get; set; } = "0 9 1 * *";

        /// <summary>The language and number formats of the platform-wide report (es-MX, es-CO, es-CL, sv-SE or en).</summary>
        public string Locale { get; set; } = "en";

        /// <summary>Days a stored report is kept after the end of its period (files under the data folder's reports/).</summary>
        public int RetentionDays { get; set; } = 400;

        /// <summary>Who receives which reports, each for one scope (a vendor's store or a country) and in one language.</summary>
        public List<ReportRecipient> Recipients { get; set; } = [];
    }

    /// <summary>
    /// One recipient of scheduled reports: a vendor (<c>store</c>), a country lead (<c>country</c>) or
    /// the platform (neither). Delivered to the data folder's reports/outbox/NAME/ until e-mail and
    /// Slack channels exist (<c>channels</c> names them for then).
    /// </summary>
    public sealed class ReportRecipient
    {
        public string Name { get; set; } = "";

        public string? Store { get; set; }

        public string? Country { get; set; }

        public string Locale { get; set; } = "en";

        /// <summary>daily, weekly and/or monthly (default all three).</summary>
        public List<string> Reports { get; set; } = ["daily", "weekly", "monthly"];

        /// <summary>Channels of <c>alerts.channels</c> that carry the report (e-mail with the file attached, Slack or a webhook with the headline figures and a link); the folder outbox always gets it.</summary>
        public List<string> Channels { get; set; } = [];
    }

    public sealed class RetentionSection
    {
        /// <summary>Off by default: raw events are kept for ever (seed 002).</summary>
        public bool Enabled { get; set; }

        /// <summary>Whole months of raw events kept when on (seed 001: two years).</summary>
        public int RawEventsMonths { get; set; } = 24;

        /// <summary>IP addresses, user agents and traits are dropped from events older than this many days; 0 keeps them (docs/privacy.md).</summary>
        public int PersonalFieldsDays { get; set; }

        public string Schedule { get; set; } = "30 3 * * *";
    }

    public sealed class PrivacySection
    {
        /// <summary>Leading bits of an IPv4 address kept when an event is collected: 24 by default, 32 keeps it whole, 0 keeps none.</summary>
        public int IpV4PrefixBits { get; set; } = 24;

        /// <summary>Leading bits of an IPv6 address kept: 48 by default, 128 keeps it whole, 0 keeps none.</summary>
        public int IpV6PrefixBits { get; set; } = 48;
    }

    /// <summary>
    /// Limits of the data-quality checks (Quality/QualityChecks.cs). Each pair is warn then fail; a
    /// value at or beyond the limit takes that status.
    /// </summary>
    public sealed class QualitySection
    {
        /// <summary>Hours since a source system's last accepted event.</summary>
        public double FreshnessWarnHours { get; set; } = 2;
        public double FreshnessFailHours { get; set; } = 6;

        /// <summary>Days a mart's watermark is behind yesterday (0 = up to date; the D+1 batch runs after midnight).</summary>
        public double MartDaysBehindWarn { get; set; } = 2;
        public double MartDaysBehindFail { get; set; } = 3;

        /// <summary>Percent of events over the last 7 days missing a field a KPI needs.</summary>
        public double NullRateWarnPct { get; set; } = 1;
        public double NullRateFailPct { get; set; } = 5;

        /// <summary>|z-score| of yesterday's event count against the 28 days before it.</summary>
        public double VolumeZWarn { get; set; } = 3;
        public double VolumeZFail { get; set; } = 5;

        /// <summary>Percent of events over the last 7 days whose amounts do not add up, or whose time was in the future.</summary>
        public double ConsistencyWarnPct { get; set; } = 0.1;
        public double ConsistencyFailPct { get; set; } = 1;

        /// <summary>Percent of the events received over the last 24 h that were rejected into quarantine.</summary>
        public double QuarantineWarnPct { get; set; } = 1;
        public double QuarantineFailPct { get; set; } = 5;
    }

    /// <summary>Which products a storefront's recommendations may show (docs/recommendations.md).</summary>
    public sealed class RecommendationsSection
    {
        /// <summary><c>store</c> (the default): only the product's own store; <c>marketplace</c>: every store of its country.</summary>
        public string Scope { get; set; } = "store";

        [YamlIgnore]
        public bool Marketplace => Scope == "marketplace";
    }

    /// <summary>Every schedule by the name the scheduler and the messages use.</summary>
    public IReadOnlyDictionary<string, string> Schedules
    {
        get
        {
            var schedules = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["jobs.daily_batch_schedule"] = Jobs.DailyBatchSchedule,
                ["kpi.refresh_schedule"] = Kpi.RefreshSchedule,
                ["kpi.dq_health_schedule"] = Kpi.DqHealthSchedule,
                ["reports.daily_schedule"] = Reports.DailySchedule,
                ["reports.weekly_schedule"] = Reports.WeeklySchedule,
                ["reports.monthly_schedule"] = Reports.MonthlySchedule,
                ["retention.schedule"] = Retention.Schedule,
            };
            foreach (var (provider, settings) in Connectors.Configured())
            {
                schedules[$"connectors.{provider}.schedule"] = settings.Schedule;
            }
            return schedules;
        }
    }

    /// <summary>The default folder: <c>./config/environments</c> when it exists (a clone), else the one beside the executable.</summary>
    public static string DefaultDirectory()
    {
        var local = Path.GetFullPath(Path.Combine("config", "environments"));
        return Directory.Exists(local) ? local : Path.Combine(AppContext.BaseDirectory, "config", "environments");
    }

    /// <summary>Reads and validates <c>DIR/NAME.yaml</c>.</summary>
    public static EnvironmentConfig Load(string directory, string environment, params IReadOnlyList<SectionCheck> checks)
    {
        if (!Names.Contains(environment))
        {
            throw new ConfigException($"unknown environment '{environment}'; use one of {string.Join(", ", Names)} (--env or ATALAYA_ENV)");
        }
        var path = Path.Combine(directory, environment + ".yaml");
        if (!File.Exists(path))
        {
            throw new ConfigException($"{path} not found; point --config at the folder holding dev.yaml, stg.yaml and prod.yaml (the repository's config/environments)");
        }
        return Parse(File.ReadAllText(path), path, environment, checks);
    }

    public static EnvironmentConfig Parse(string yaml, string source, string environment, params IReadOnlyList<SectionCheck> checks)
    {
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        EnvironmentConfig config;
        try
        {
            config = deserializer.Deserialize<EnvironmentConfig?>(yaml) ?? new EnvironmentConfig();
        }
        catch (YamlException e)
        {
            // YamlDotNet wraps the useful message (unknown property, bad number) one level down.
            var message = (e.InnerException?.Message ?? e.Message).Replace("YamlDotNet.Serialization.", "", StringComparison.Ordinal);
            throw new ConfigException($"{source}:{e.Start.Line}:{e.Start.Column}: {Friendly(message)}");
        }
        config.Source = source;
        config.Validate(environment, checks);
        return config;
    }

    private static string Friendly(string message)
    {
        // "Property 'refres_schedule' not found on type 'Atalaya.Engine.Config.EnvironmentConfig+KpiSection'."
        const string marker = "not found on type";
        var at = message.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? message : message[..at].Replace("Property", "unknown key", StringComparison.Ordinal).Trim()
            + " (check the spelling against config/environments/dev.yaml)";
    }

    private void Validate(string environment, IReadOnlyList<SectionCheck> checks)
    {
        var problems = new List<string>();
        if (!string.Equals(Environment, environment, StringComparison.Ordinal))
        {
            problems.Add($"environment: is '{Environment}', but the file is for '{environment}'");
        }
        foreach (var (key, expression) in Schedules)
        {
            if (ParseCron(expression) is null)
            {
                problems.Add($"{key}: '{expression}' is not a cron expression (five fields in UTC: minute hour day-of-month month day-of-week, e.g. \"0 */4 * * *\")");
            }
        }
        var t = Kpi.Thresholds;
        Order(problems, "leads", t.LeadsCritical, t.LeadsWarning, 0, double.MaxValue);
        Order(problems, "revenue_vs_avg7d", t.RevenueVsAvg7dCritical, t.RevenueVsAvg7dWarning, 0, 1);
        Order(problems, "payment_success", t.PaymentSuccessCritical, t.PaymentSuccessWarning, 0, 100);
        var q = Quality;
        Rising(problems, "freshness", "hours", q.FreshnessWarnHours, q.FreshnessFailHours, double.MaxValue);
        Rising(problems, "mart_days_behind", "", q.MartDaysBehindWarn, q.MartDaysBehindFail, double.MaxValue);
        Rising(problems, "null_rate", "pct", q.NullRateWarnPct, q.NullRateFailPct, 100);
        Rising(problems, "volume_z", "", q.VolumeZWarn, q.VolumeZFail, double.MaxValue);
        Rising(problems, "consistency", "pct", q.ConsistencyWarnPct, q.ConsistencyFailPct, 100);
        Rising(problems, "quarantine", "pct", q.QuarantineWarnPct, q.QuarantineFailPct, 100);
        Alerts.Validate(problems);
        foreach (var check in checks)
        {
            check(this, problems);
        }
        ValidateReports(problems);
        Connectors.Validate(problems);
        Cluster.Validate(problems);
        foreach (var (provider, webhook) in Webhooks)
        {
            webhook.Validate(problems, "webhooks." + provider);
        }
        if (Recommendations.Scope is not ("store" or "marketplace"))
        {
            problems.Add($"recommendations.scope: must be store or marketplace, got '{Recommendations.Scope}'");
        }
        if (Retention.PersonalFieldsDays < 0)
        {
            problems.Add($"retention.personal_fields_days: must be 0 (keep) or more, got {Retention.PersonalFieldsDays}");
        }
        if (Privacy.IpV4PrefixBits is < 0 or > 32)
        {
            problems.Add($"privacy.ip_v4_prefix_bits: must be 0 to 32, got {Privacy.IpV4PrefixBits}");
        }
        if (Privacy.IpV6PrefixBits is < 0 or > 128)
        {
            problems.Add($"privacy.ip_v6_prefix_bits: must be 0 to 128, got {Privacy.IpV6PrefixBits}");
        }
        if (Retention.RawEventsMonths < 1)
        {
            problems.Add($"retention.raw_events_months: must be at least 1, got {Retention.RawEventsMonths}");
        }
        if (problems.Count > 0)
        {
            throw new ConfigException($"{Source}: " + string.Join("; ", problems));
        }
    }

    /// <summary>The report locales a recipient may ask for.</summary>
    public static readonly IReadOnlyList<string> ReportLocales = ["es-MX", "es-CO", "es-CL", "sv-SE", "en"];

    private void ValidateReports(List<string> problems)
    {
        var r = Reports;
        if (!ReportLocales.Contains(r.Locale))
        {
            problems.Add($"reports.locale: '{r.Locale}' is not one of {string.Join(", ", ReportLocales)}");
        }
        if (r.RetentionDays < 1)
        {
            problems.Add($"reports.retention_days: must be at least 1, got {r.RetentionDays}");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < r.Recipients.Count; i++)
        {
            var x = r.Recipients[i];
            var at = $"reports.recipients[{i}]";
            if (!System.Text.RegularExpressions.Regex.IsMatch(x.Name, "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))
            {
                problems.Add($"{at}.name: '{x.Name}' must be 1 to 64 letters, digits, '.', '_' or '-' (it names the recipient's outbox folder)");
            }
            else if (!names.Add(x.Name))
            {
                problems.Add($"{at}.name: '{x.Name}' is used twice");
            }
            foreach (var channel in x.Channels.Where(c => !Alerts.Channels.Exists(a => a.Name == c)))
            {
                problems.Add($"{at}.channels: '{channel}' is not a channel of alerts.channels ({(Alerts.Channels.Count == 0 ? "none is configured" : string.Join(", ", Alerts.Channels.Select(a => a.Name)))})");
            }
            if (x.Store is not null && x.Country is not null)
            {
                problems.Add($"{at}: give store (a vendor) or country (a country lead), not both");
            }
            if (x.Store is { } store && string.IsNullOrWhiteSpace(store))
            {
                problems.Add($"{at}.store: is empty");
            }
            if (x.Country is { } country && !System.Text.RegularExpressions.Regex.IsMatch(country, "^[A-Z]{2}$"))
            {
                problems.Add($"{at}.country: '{country}' is not a two-letter country code such as MX");
            }
            if (!ReportLocales.Contains(x.Locale))
            {
                problems.Add($"{at}.locale: '{x.Locale}' is not one of {string.Join(", ", ReportLocales)}");
            }
            foreach (var kind in x.Reports.Where(k => k is not ("daily" or "weekly" or "monthly")))
            {
                problems.Add($"{at}.reports: '{kind}' is not daily, weekly or monthly");
            }
        }
    }

    /// <summary>Alerts fire when a figure falls below a threshold: critical must be below warning, both within the KPI's range.</summary>
    private static void Order(List<string> problems, string name, double critical, double warning, double min, double max) =>
        Pair(problems, ($"kpi.thresholds.{name}_critical", critical), ($"{name}_warning", warning), min, max, "critical is the lower, more serious level");

    /// <summary>Quality limits rise: a larger value is worse, so warn must not be above fail, both from 0 to <paramref name="max"/>.</summary>
    private static void Rising(List<string> problems, string name, string unit, double warn, double fail, double max)
    {
        var suffix = unit.Length == 0 ? "" : "_" + unit;
        Pair(problems, ($"quality.{name}_warn{suffix}", warn), ($"{name}_fail{suffix}", fail), 0, max, "fail is the larger, more serious level");
    }

    /// <summary>Two limits of one figure: each within [min, max], the first not above the second (the second's key is named without its section).</summary>
    private static void Pair(List<string> problems, (string Key, double Value) low, (string Key, double Value) high, double min, double max, string why)
    {
        var section = low.Key[..(low.Key.LastIndexOf('.') + 1)];
        foreach (var (key, value) in new[] { low, (section + high.Key, high.Value) })
        {
            if (double.IsNaN(value) || value < min || value > max)
            {
                problems.Add($"{key}: must be from {min.ToString(CultureInfo.InvariantCulture)} to {(max == double.MaxValue ? "any" : max.ToString(CultureInfo.InvariantCulture))}, got {value.ToString(CultureInfo.InvariantCulture)}");
            }
        }
        if (low.Value > high.Value)
        {
            problems.Add($"{low.Key} ({low.Value.ToString(CultureInfo.InvariantCulture)}) must not be above {high.Key} ({high.Value.ToString(CultureInfo.InvariantCulture)}): {why}");
        }
    }

    /// <summary>A five-field cron expression in UTC, or null.</summary>
    public static CrontabSchedule? ParseCron(string expression) =>
        CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = false });
}
