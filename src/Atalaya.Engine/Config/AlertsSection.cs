using System.Globalization;
using YamlDotNet.Serialization;

namespace Atalaya.Engine.Config;

/// <summary>
/// The <c>alerts:</c> section of an environment file (docs/alerts.md): how often the hub evaluates
/// its rules, where notifications go and the rules themselves. Secrets (a Slack URL, an HMAC key,
/// an SMTP password) are never written here: a channel names the environment variable or file that
/// holds them.
/// </summary>
public sealed class AlertsSection
{
    public string EvaluateEvery { get; set; } = "30s";

    /// <summary>A firing alert that nobody acknowledged is sent again after this long.</summary>
    public string RenotifyEvery { get; set; } = "4h";

    /// <summary>Delivery: retries after the first attempt (exponential backoff with jitter, honouring Retry-After).</summary>
    public int DeliveryRetries { get; set; } = 3;

    public string DeliveryBaseDelay { get; set; } = "2s";

    /// <summary>How long a channel's circuit stays open after repeated failures before one trial delivery.</summary>
    public string BreakerOpenFor { get; set; } = "60s";

    public List<ChannelConfig> Channels { get; set; } = [];

    public List<RuleConfig> Rules { get; set; } = [];

    [YamlIgnore]
    public TimeSpan EvaluateInterval => Durations.Parse(EvaluateEvery) ?? TimeSpan.FromSeconds(30);

    [YamlIgnore]
    public TimeSpan RenotifyInterval => Durations.Parse(RenotifyEvery) ?? TimeSpan.FromHours(4);

    [YamlIgnore]
    public TimeSpan BaseDelay => Durations.Parse(DeliveryBaseDelay) ?? TimeSpan.FromSeconds(2);

    [YamlIgnore]
    public TimeSpan BreakDuration => Durations.Parse(BreakerOpenFor) ?? TimeSpan.FromSeconds(60);

    public sealed class ChannelConfig
    {
        public string Name { get; set; } = "";

        /// <summary>slack, webhook, email or alertmanager.</summary>
        public string Type { get; set; } = "";

        /// <summary>The endpoint (webhook, alertmanager). A Slack URL is a secret: use url_env or url_file.</summary>
        public string? Url { get; set; }

        public string? UrlEnv { get; set; }

        public string? UrlFile { get; set; }

        /// <summary>The webhook's HMAC key, or the SMTP password.</summary>
        public string? SecretEnv { get; set; }

        public string? SecretFile { get; set; }

        /// <summary>email: host:port of the SMTP server.</summary>
        public string? Smtp { get; set; }

        /// <summary>email: the SMTP user name (the password comes from secret_env / secret_file).</summary>
        public string? Username { get; set; }

        /// <summary>email: sender address.</summary>
        public string? From { get; set; }

        /// <summary>email: recipients.</summary>
        public List<string> To { get; set; } = [];
    }

    public sealed class RuleConfig
    {
        public string Name { get; set; } = "";

        /// <summary>info, warning or critical.</summary>
        public string Severity { get; set; } = "warning";

        public List<string> Channels { get; set; } = [];

        /// <summary>Narrows a KPI rule (and who may see its alerts): dimension → comma list, e.g. <c>{country: MX}</c>.</summary>
        public Dictionary<string, string> Scope { get; set; } = [];

        // KPI rules: threshold, ratio to the 7-day average of the same hours, z-score.
        public string? Kpi { get; set; }

        public string Window { get; set; } = "24h";

        public double? Below { get; set; }

        public double? Above { get; set; }

        public double? RatioToAvg7dBelow { get; set; }

        public double? ZscoreAbove { get; set; }

        /// <summary>Days of history (the same hours of each) the z-score is computed against.</summary>
        public int ZscoreDays { get; set; } = 14;

        // A pipeline that did not run: no successful run of the job within max_age.
        public string? Pipeline { get; set; }

        public string? MaxAge { get; set; }

        // A failing data-quality check (a check name, or * for any).
        public string? QualityCheck { get; set; }

        /// <summary>fail (default) or warn: the least serious check status that fires.</summary>
        public string QualityStatus { get; set; } = "fail";

        // A connector whose runs failed on this many consecutive days (jobs named connector*).
        public int? ConnectorFailingDays { get; set; }

        public string Connector { get; set; } = "connector";
    }

    /// <summary>
    /// Checks the section's own shape (durations, channels, rule names and the channels they name);
    /// every problem is added to <paramref name="problems"/> naming its key. Each rule's condition is
    /// compiled by the alerts feature (Alerts/AlertRuleSet), which knows the KPIs.
    /// </summary>
    internal void Validate(List<string> problems)
    {
        Duration(problems, "alerts.evaluate_every", EvaluateEvery);
        Duration(problems, "alerts.renotify_every", RenotifyEvery);
        Duration(problems, "alerts.delivery_base_delay", DeliveryBaseDelay);
        Duration(problems, "alerts.breaker_open_for", BreakerOpenFor);
        if (DeliveryRetries is < 0 or > 10)
        {
            problems.Add($"alerts.delivery_retries: must be from 0 to 10, got {DeliveryRetries}");
        }
        var channelNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Channels.Count; i++)
        {
            var c = Channels[i];
            var key = $"alerts.channels[{i}]";
            if (!Names.IsMatch(c.Name))
            {
                problems.Add($"{key}.name: '{c.Name}' must be letters, digits, '-' or '_'");
            }
            else if (!channelNames.Add(c.Name))
            {
                problems.Add($"{key}.name: '{c.Name}' is used by two channels");
            }
            ValidateChannel(problems, $"{key} ({c.Name})", c);
        }
        var ruleNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Rules.Count; i++)
        {
            var r = Rules[i];
            var key = $"alerts.rules[{i}]";
            if (!Names.IsMatch(r.Name))
            {
                problems.Add($"{key}.name: '{r.Name}' must be letters, digits, '-' or '_'");
            }
            else if (!ruleNames.Add(r.Name))
            {
                problems.Add($"{key}.name: '{r.Name}' is used by two rules");
            }
            foreach (var channel in r.Channels.Where(c => !channelNames.Contains(c)))
            {
                problems.Add($"{key} ({r.Name}).channels: no channel named '{channel}' (declare it under alerts.channels)");
            }
        }
    }

    /// <summary>The key a rule's problems are reported under: <c>alerts.rules[i] (name)</c>.</summary>
    internal static string RuleKey(int index, RuleConfig rule) => $"alerts.rules[{index}] ({rule.Name})";

    private static readonly System.Text.RegularExpressions.Regex Names = new("^[A-Za-z0-9_-]{1,64}$");

    private static void ValidateChannel(List<string> problems, string key, ChannelConfig c)
    {
        var urls = new[] { c.Url, c.UrlEnv, c.UrlFile }.Count(u => !string.IsNullOrEmpty(u));
        switch (c.Type)
        {
            case "slack":
                if (!string.IsNullOrEmpty(c.Url))
                {
                    problems.Add($"{key}.url: a Slack webhook URL is a secret; put it in an environment variable (url_env) or a file (url_file)");
                }
                else if (urls != 1)
                {
                    problems.Add($"{key}: a slack channel needs url_env or url_file");
                }
                break;
            case "webhook":
                if (urls != 1)
                {
                    problems.Add($"{key}: a webhook channel needs one of url, url_env, url_file");
                }
                if (string.IsNullOrEmpty(c.SecretEnv) == string.IsNullOrEmpty(c.SecretFile))
                {
                    problems.Add($"{key}: a webhook channel needs its signing key in secret_env or secret_file (one of them)");
                }
                break;
            case "alertmanager":
                if (urls != 1)
                {
                    problems.Add($"{key}: an alertmanager channel needs url (e.g. http://127.0.0.1:9093)");
                }
                break;
            case "email":
                if (c.Smtp is null || !TrySplitHostPort(c.Smtp, out _, out _))
                {
                    problems.Add($"{key}.smtp: needs host:port of the SMTP server, got '{c.Smtp}'");
                }
                if (c.From is null || !c.From.Contains('@', StringComparison.Ordinal))
                {
                    problems.Add($"{key}.from: needs the sender's address");
                }
                if (c.To.Count == 0 || c.To.Any(t => !t.Contains('@', StringComparison.Ordinal)))
                {
                    problems.Add($"{key}.to: needs one or more recipient addresses");
                }
                if (c.Username is not null && string.IsNullOrEmpty(c.SecretEnv) && string.IsNullOrEmpty(c.SecretFile))
                {
                    problems.Add($"{key}: username is set, so the password must come from secret_env or secret_file");
                }
                break;
            default:
                problems.Add($"{key}.type: '{c.Type}' is not a channel type; use slack, webhook, email or alertmanager");
                return;
        }
        if (!string.IsNullOrEmpty(c.Url) && (!Uri.TryCreate(c.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            problems.Add($"{key}.url: '{c.Url}' is not an http(s) URL");
        }
        foreach (var (name, variable) in new[] { ("url_env", c.UrlEnv), ("secret_env", c.SecretEnv) })
        {
            if (!string.IsNullOrEmpty(variable) && string.IsNullOrEmpty(System.Environment.GetEnvironmentVariable(variable)))
            {
                problems.Add($"{key}.{name}: the environment variable {variable} is not set (or empty)");
            }
        }
        foreach (var (name, file) in new[] { ("url_file", c.UrlFile), ("secret_file", c.SecretFile) })
        {
            if (!string.IsNullOrEmpty(file) && !File.Exists(file))
            {
                problems.Add($"{key}.{name}: the file {file} does not exist");
            }
        }
    }

    internal static bool TrySplitHostPort(string text, out string host, out int port)
    {
        var colon = text.LastIndexOf(':');
        host = colon > 0 ? text[..colon] : "";
        port = 0;
        return colon > 0 && int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536;
    }

    private static void Duration(List<string> problems, string key, string text)
    {
        if (Durations.Parse(text) is not { } d || d <= TimeSpan.Zero)
        {
            problems.Add($"{key}: '{text}' is not a duration; write a number and a unit: 30s, 5m, 1h, 2d");
        }
    }
}

/// <summary>Durations as the environment files write them: <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>2d</c>, <c>250ms</c>.</summary>
public static class Durations
{
    public static TimeSpan? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        text = text.Trim();
        var unitAt = text.Length;
        while (unitAt > 0 && char.IsAsciiLetter(text[unitAt - 1]))
        {
            unitAt--;
        }
        if (!double.TryParse(text[..unitAt], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
        {
            return null;
        }
        return text[unitAt..] switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            "d" => TimeSpan.FromDays(n),
            _ => null,
        };
    }

    public static string Format(TimeSpan d) => d.TotalDays >= 1 && d.TotalDays == Math.Floor(d.TotalDays) ? Text($"{d.TotalDays:0}d")
        : d.TotalHours >= 1 && d.TotalHours == Math.Floor(d.TotalHours) ? Text($"{d.TotalHours:0}h")
        : d.TotalMinutes >= 1 && d.TotalMinutes == Math.Floor(d.TotalMinutes) ? Text($"{d.TotalMinutes:0}m")
        : Text($"{d.TotalSeconds:0.###}s");

    private static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
