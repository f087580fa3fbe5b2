namespace Atalaya.Engine.Config;

/// <summary>
/// The <c>connectors:</c> section of an environment file: one optional block per provider. A
/// provider without a block is not scheduled and `atalaya connectors run` says how to add it.
/// Credentials are never in this file: it names the environment variable that holds the path
/// of the credentials file.
/// </summary>
public sealed class ConnectorsSection
{
    public Ga4Settings? Ga4 { get; set; }

    public MetaAdsSettings? MetaAds { get; set; }

    public AppStoreSettings? AppStore { get; set; }

    /// <summary>The configured providers, by their source_system name.</summary>
    public IEnumerable<(string Provider, ProviderSettings Settings)> Configured()
    {
        if (Ga4 is { } ga4)
        {
            yield return (ConnectorSources.Ga4, ga4);
        }
        if (MetaAds is { } meta)
        {
            yield return (ConnectorSources.MetaAds, meta);
        }
        if (AppStore is { } appStore)
        {
            yield return (ConnectorSources.AppStore, appStore);
        }
    }

    public ProviderSettings? Find(string provider) => Configured().FirstOrDefault(c => c.Provider == provider).Settings;

    public void Validate(List<string> problems)
    {
        foreach (var (provider, settings) in Configured())
        {
            settings.Validate(problems, "connectors." + provider);
        }
    }
}

/// <summary>What every provider block has: schedule, endpoints, credentials and the resilience knobs.</summary>
public abstract class ProviderSettings
{
    /// <summary>Cron (UTC) of the D+1 run: fetches yesterday.</summary>
    public string Schedule { get; set; } = "30 2 * * *";

    public string BaseUrl { get; set; } = "";

    /// <summary>The OAuth token endpoint (GA4 only; the others sign their own tokens or hold one).</summary>
    public string TokenUrl { get; set; } = "";

    /// <summary>Name of the environment variable holding the path of the credentials file.</summary>
    public string CredentialsFileEnv { get; set; } = "";

    /// <summary>Per attempt: a request that has not answered by then is cancelled and counts as transient.</summary>
    public double TimeoutSeconds { get; set; } = 30;

    /// <summary>Retries of a transient failure (timeout, 429, 5xx) after the first attempt.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First backoff delay; it doubles per retry, with jitter.</summary>
    public double RetryBaseDelaySeconds { get; set; } = 2;

    /// <summary>A Retry-After longer than this is not waited for: the day is dead-lettered as transient for the next run.</summary>
    public double MaxRetryAfterSeconds { get; set; } = 120;

    /// <summary>Failed calls (after retries) in a row, over at least this many, that open the provider's breaker.</summary>
    public int BreakerMinimumThroughput { get; set; } = 4;

    /// <summary>How long an open breaker refuses calls to the provider.</summary>
    public double BreakerBreakSeconds { get; set; } = 60;

    /// <summary>A day whose value of a metric is this many times the median of its previous 7 days is flagged as a spike.</summary>
    public double SpikeFactor { get; set; } = 10;

    /// <summary>The app ids this provider writes rows for.</summary>
    public abstract IReadOnlyList<string> AppIds { get; }

    public virtual void Validate(List<string> problems, string key)
    {
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            problems.Add($"{key}.base_url: '{BaseUrl}' is not an http(s) URL");
        }
        if (string.IsNullOrWhiteSpace(CredentialsFileEnv))
        {
            problems.Add($"{key}.credentials_file_env: name the environment variable that holds the path of the credentials file (see docs/connectors.md)");
        }
        if (TimeoutSeconds <= 0 || MaxRetries < 0 || MaxRetries > 10 || RetryBaseDelaySeconds < 0 || MaxRetryAfterSeconds < 0
            || BreakerMinimumThroughput < 2 || BreakerBreakSeconds <= 0 || SpikeFactor <= 1)
        {
            problems.Add($"{key}: timeout_seconds > 0, max_retries 0..10, retry_base_delay_seconds >= 0, max_retry_after_seconds >= 0, "
                + "breaker_minimum_throughput >= 2, breaker_break_seconds > 0 and spike_factor > 1 are required");
        }
        if (AppIds.Count == 0)
        {
            problems.Add($"{key}: lists no app (each entry maps a provider account to an app_id and a platform)");
        }
    }

    protected static void CheckMapping(List<string> problems, string key, string accountName, string account, string appId, string platform)
    {
        if (string.IsNullOrWhiteSpace(account))
        {
            problems.Add($"{key}: an entry has no {accountName}");
        }
        if (string.IsNullOrWhiteSpace(appId))
        {
            problems.Add($"{key}: the entry for {accountName} '{account}' has no app_id");
        }
        if (platform is not ("web" or "ios" or "android" or "server"))
        {
            problems.Add($"{key}: the entry for {accountName} '{account}' has platform '{platform}'; use web, ios, android or server");
        }
    }
}

/// <summary>A GA4 property and the app it measures.</summary>
public sealed class Ga4Property
{
    public string PropertyId { get; set; } = "";
    public string AppId { get; set; } = "";
    public string Platform { get; set; } = "";
}

public sealed class Ga4Settings : ProviderSettings
{
    public Ga4Settings()
    {
        BaseUrl = "https://analyticsdata.googleapis.com";
        TokenUrl = "https://oauth2.googleapis.com/token";
        CredentialsFileEnv = "ATALAYA_GA4_CREDENTIALS";
    }

    public List<Ga4Property> Properties { get; set; } = [];

    /// <summary>GA4 metric API names to fetch; stored in snake_case (activeUsers → active_users).</summary>
    public List<string> Metrics { get; set; } = ["sessions", "activeUsers", "newUsers", "screenPageViews", "engagedSessions"];

    /// <summary>Rows per page (the API allows up to 250,000).</summary>
    public int PageSize { get; set; } = 10_000;

    public override IReadOnlyList<string> AppIds => [.. Properties.Select(p => p.AppId)];

    public override void Validate(List<string> problems, string key)
    {
        base.Validate(problems, key);
        if (!Uri.TryCreate(TokenUrl, UriKind.Absolute, out _))
        {
            problems.Add($"{key}.token_url: '{TokenUrl}' is not a URL (Google's is https://oauth2.googleapis.com/token)");
        }
        foreach (var p in Properties)
        {
            CheckMapping(problems, key + ".properties", "property_id", p.PropertyId, p.AppId, p.Platform);
        }
        if (Metrics.Count == 0 || PageSize < 1 || PageSize > 250_000)
        {
            problems.Add($"{key}: metrics must list at least one GA4 metric and page_size be 1..250000");
        }
    }
}

/// <summary>A Meta ad account (without the act_ prefix) and the app its ads promote.</summary>
public sealed class MetaAdAccount
{
    public string AccountId { get; set; } = "";
    public string AppId { get; set; } = "";
    public string Platform { get; set; } = "";

    /// <summary>The ad account's currency (ISO 4217), used when the insights rows do not say it (account_currency).</summary>
    public string Currency { get; set; } = "";
}

public sealed class MetaAdsSettings : ProviderSettings
{
    public MetaAdsSettings()
    {
        BaseUrl = "https://graph.facebook.com";
        CredentialsFileEnv = "ATALAYA_META_CREDENTIALS";
    }

    /// <summary>The Graph API version in the path.</summary>
    public string ApiVersion { get; set; } = "v21.0";

    public List<MetaAdAccount> AdAccounts { get; set; } = [];

    /// <summary>Insights rows per page (campaign level).</summary>
    public int PageSize { get; set; } = 100;

    public override IReadOnlyList<string> AppIds => [.. AdAccounts.Select(a => a.AppId)];

    public override void Validate(List<string> problems, string key)
    {
        base.Validate(problems, key);
        if (!System.Text.RegularExpressions.Regex.IsMatch(ApiVersion, @"^v\d+\.\d+$"))
        {
            problems.Add($"{key}.api_version: '{ApiVersion}' is not a Graph API version like v21.0");
        }
        foreach (var a in AdAccounts)
        {
            CheckMapping(problems, key + ".ad_accounts", "account_id", a.AccountId, a.AppId, a.Platform);
            if (a.Currency.Length > 0 && !System.Text.RegularExpressions.Regex.IsMatch(a.Currency, "^[A-Z]{3}$"))
            {
                problems.Add($"{key}.ad_accounts: currency '{a.Currency}' of account '{a.AccountId}' is not an ISO 4217 code such as MXN or USD");
            }
            if (a.AccountId.StartsWith("act_", StringComparison.Ordinal))
            {
                problems.Add($"{key}.ad_accounts: write account_id '{a.AccountId}' without the act_ prefix");
            }
        }
        if (PageSize < 1 || PageSize > 5000)
        {
            problems.Add($"{key}.page_size: must be 1..5000");
        }
    }
}

/// <summary>An app in App Store Connect (its Apple ID, the number in its store URL) and the app id it has here.</summary>
public sealed class AppStoreApp
{
    public string AppleId { get; set; } = "";
    public string AppId { get; set; } = "";
    public string Platform { get; set; } = "ios";
}

public sealed class AppStoreSettings : ProviderSettings
{
    public AppStoreSettings()
    {
        BaseUrl = "https://api.appstoreconnect.apple.com";
        CredentialsFileEnv = "ATALAYA_APPSTORE_KEY";
    }

    /// <summary>The API key's id (App Store Connect → Users and Access → Integrations); not a secret.</summary>
    public string KeyId { get; set; } = "";

    /// <summary>The issuer id shown above the keys; not a secret.</summary>
    public string IssuerId { get; set; } = "";

    /// <summary>The vendor number of the sales reports (Payments and Financial Reports).</summary>
    public string VendorNumber { get; set; } = "";

    public List<AppStoreApp> Apps { get; set; } = [];

    public override IReadOnlyList<string> AppIds => [.. Apps.Select(a => a.AppId)];

    public override void Validate(List<string> problems, string key)
    {
        base.Validate(problems, key);
        foreach (var (name, value) in new[] { ("key_id", KeyId), ("issuer_id", IssuerId), ("vendor_number", VendorNumber) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                problems.Add($"{key}.{name}: required (App Store Connect → Users and Access → Integrations, and Payments and Financial Reports)");
            }
        }
        foreach (var a in Apps)
        {
            CheckMapping(problems, key + ".apps", "apple_id", a.AppleId, a.AppId, a.Platform);
        }
    }
}

/// <summary>The source_system names of the connectors (the rows they write in fact_kpi_daily carry them).</summary>
public static class ConnectorSources
{
    public const string Ga4 = "ga4";
    public const string MetaAds = "meta_ads";
    public const string AppStore = "app_store";

    public static readonly IReadOnlyList<string> All = [Ga4, MetaAds, AppStore];

    /// <summary>For SQL: <c>'ga4', 'meta_ads', 'app_store'</c> (constants, no user input).</summary>
    public static string SqlList => string.Join(", ", All.Select(s => "'" + s + "'"));

    /// <summary>The job that runs a provider: <c>connector_ga4</c>.</summary>
    public static string JobName(string provider) => "connector_" + provider;

    public static string Names => string.Join(", ", All);
}
