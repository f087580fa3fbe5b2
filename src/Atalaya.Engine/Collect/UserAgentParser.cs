namespace Atalaya.Engine.Collect;

/// <summary>
/// Derives <c>device_type</c>, <c>os</c> and <c>browser</c> from a <c>User-Agent</c> header on the
/// ingest hot path. The rules are a small ordered table of our own rather than a UA library: no
/// such library resolves from our package sources, and the dashboards need only a dozen coarse
/// names, which a few substring rules decide. Each table is read top to bottom and the first rule
/// whose token occurs in the header wins, so order carries meaning: a more specific token (an
/// in-app browser, <c>Edg/</c>, <c>SamsungBrowser</c>) comes before the generic one it also
/// contains (<c>Chrome/</c>, <c>Safari/</c>).
///
/// Invariants: parsing allocates nothing and returns only the constant strings below; nothing is
/// cached between calls.
/// </summary>
internal static class UserAgentParser
{
    private const string Unknown = "unknown";
    private const string Bot = "bot";
    private const string Mobile = "mobile";
    private const string Tablet = "tablet";
    private const string Desktop = "desktop";

    /// <summary>Crawlers, monitors and HTTP libraries: the whole header is a bot, whatever else it claims.</summary>
    private static readonly UserAgentRule[] BotRules =
    [
        new("googlebot", Bot), new("bingbot", Bot), new("yandexbot", Bot), new("duckduckbot", Bot),
        new("baiduspider", Bot), new("applebot", Bot), new("ahrefsbot", Bot), new("semrushbot", Bot),
        new("gptbot", Bot), new("facebookexternalhit", Bot), new("slurp", Bot), new("crawler", Bot),
        new("spider", Bot), new("headlesschrome", Bot), new("curl/", Bot), new("wget/", Bot),
        new("python-requests", Bot), new("python-urllib", Bot), new("aiohttp", Bot),
        new("go-http-client", Bot), new("postmanruntime", Bot), new("axios/", Bot), new("node-fetch", Bot),
        new("java/", Bot), new("libwww-perl", Bot), new("uptimerobot", Bot),
        new("bot/", Bot), new("bot;", Bot), new("+http", Bot),
    ];

    /// <summary>HTTP stacks of native apps: the value is the OS; the browser is "App", the device a phone.</summary>
    private static readonly UserAgentRule[] AppRules =
    [
        new("okhttp/", "Android"),
        new("Dalvik/", "Android"),
        new("CFNetwork/", "iOS"),
    ];

    /// <summary>"iPad" before "Mobi" (iPad headers say Mobile/); "Android" without "Mobi" is a tablet.</summary>
    private static readonly UserAgentRule[] DeviceRules =
    [
        new("iPad", Tablet),
        new("iPhone", Mobile),
        new("iPod", Mobile),
        new("Mobi", Mobile),
        new("Android", Tablet),
        new("Windows", Desktop),
        new("Macintosh", Desktop),
        new("CrOS", Desktop),
        new("X11", Desktop),
        new("Linux", Desktop),
    ];

    /// <summary>iOS before macOS ("like Mac OS X"); Android and ChromeOS before Linux.</summary>
    private static readonly UserAgentRule[] OsRules =
    [
        new("iPhone", "iOS"),
        new("iPad", "iOS"),
        new("iPod", "iOS"),
        new("Android", "Android"),
        new("CrOS", "ChromeOS"),
        new("Windows", "Windows"),
        new("Macintosh", "macOS"),
        new("Mac OS X", "macOS"),
        new("Linux", "Linux"),
        new("X11", "Linux"),
    ];

    /// <summary>In-app browsers first, then browsers built on Chromium, then Chrome, Safari, and bare WebKit.</summary>
    private static readonly UserAgentRule[] BrowserRules =
    [
        new("Instagram", "Instagram"),
        new("FBAN/", "Facebook"),
        new("FBAV/", "Facebook"),
        new("FB_IAB/", "Facebook"),
        new("SamsungBrowser/", "Samsung Internet"),
        new("Edg/", "Edge"),
        new("EdgA/", "Edge"),
        new("EdgiOS/", "Edge"),
        new("Edge/", "Edge"),
        new("OPR/", "Opera"),
        new("OPT/", "Opera"),
        new("OPiOS/", "Opera"),
        new("Opera", "Opera"),
        new("Firefox/", "Firefox"),
        new("FxiOS/", "Firefox"),
        new("CriOS/", "Chrome"),
        new("; wv)", "WebView"),
        new("Chrome/", "Chrome"),
        new("Chromium/", "Chrome"),
        new("Safari/", "Safari"),
        // WebKit without a Safari token is a view embedded in an app (WKWebView).
        new("AppleWebKit/", "WebView"),
    ];

    public static UserAgentInfo Parse(string? userAgent)
    {
        var ua = userAgent.AsSpan().Trim();
        if (ua.IsEmpty)
        {
            return new UserAgentInfo(Unknown, Unknown, Unknown);
        }
        if (FirstMatch(ua, BotRules, StringComparison.OrdinalIgnoreCase) is not null)
        {
            return new UserAgentInfo(Bot, Unknown, Unknown);
        }
        if (FirstMatch(ua, AppRules, StringComparison.Ordinal) is { } appOs)
        {
            return new UserAgentInfo(Mobile, appOs, "App");
        }
        return new UserAgentInfo(
            FirstMatch(ua, DeviceRules, StringComparison.Ordinal) ?? Unknown,
            FirstMatch(ua, OsRules, StringComparison.Ordinal) ?? Unknown,
            FirstMatch(ua, BrowserRules, StringComparison.Ordinal) ?? Unknown);
    }

    private static string? FirstMatch(ReadOnlySpan<char> userAgent, ReadOnlySpan<UserAgentRule> rules, StringComparison comparison)
    {
        foreach (ref readonly var rule in rules)
        {
            if (userAgent.Contains(rule.Token, comparison))
            {
                return rule.Value;
            }
        }
        return null;
    }

    /// <summary>When <see cref="Token"/> occurs in the header, the dimension takes <see cref="Value"/>.</summary>
    private readonly record struct UserAgentRule(string Token, string Value);
}
