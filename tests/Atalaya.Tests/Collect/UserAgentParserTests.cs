using Atalaya.Engine.Collect;

namespace Atalaya.Tests.Collect;

public sealed class UserAgentParserTests
{
    /// <summary>Headers copied from real traffic; each row: user agent, device type, OS, browser.</summary>
    public static TheoryData<string, string, string, string> RealWorldUserAgents() => new()
    {
        // Desktop
        { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "desktop", "Windows", "Chrome" },
        { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", "desktop", "Windows", "Edge" },
        { "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop", "Windows", "Firefox" },
        { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0", "desktop", "Windows", "Opera" },
        { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045", "desktop", "Windows", "Edge" },
        { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", "desktop", "macOS", "Safari" },
        { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "desktop", "macOS", "Chrome" },
        { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop", "macOS", "Firefox" },
        { "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop", "Linux", "Firefox" },
        { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "desktop", "Linux", "Chrome" },
        { "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "desktop", "ChromeOS", "Chrome" },
        // Phones
        { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", "mobile", "iOS", "Safari" },
        { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", "mobile", "iOS", "Chrome" },
        { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15", "mobile", "iOS", "Firefox" },
        { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.71 Mobile/15E148 Safari/605.1.15", "mobile", "iOS", "Edge" },
        { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "mobile", "iOS", "WebView" },
        { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "mobile", "Android", "Chrome" },
        { "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36", "mobile", "Android", "Chrome" },
        { "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", "mobile", "Android", "Samsung Internet" },
        { "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", "mobile", "Android", "Firefox" },
        { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 OPR/81.1.4292.78446", "mobile", "Android", "Opera" },
        { "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64", "mobile", "Android", "Edge" },
        { "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36", "mobile", "Android", "WebView" },
        // In-app browsers
        { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.48.109;FBBV/594254484;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.4.1;FBSS/3;FBID/phone;FBLC/es_LA;FBOP/5;FBRV/596178826]", "mobile", "iOS", "Facebook" },
        { "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/460.0.0.48.109;]", "mobile", "Android", "Facebook" },
        { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 329.0.3.29.120 (iPhone14,5; iOS 17_4_1; es_MX; es; scale=3.00; 1170x2532; 590745018)", "mobile", "iOS", "Instagram" },
        { "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 Instagram 329.0.0.41.93 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 7; panther; panther; es_CO; 594104474)", "mobile", "Android", "Instagram" },
        // Tablets
        { "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "tablet", "iOS", "Safari" },
        { "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "tablet", "Android", "Chrome" },
        { "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36", "tablet", "Android", "Samsung Internet" },
        { "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", "tablet", "Android", "Firefox" },
        // Native apps
        { "okhttp/4.12.0", "mobile", "Android", "App" },
        { "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240205.004)", "mobile", "Android", "App" },
        { "Tiendi/4.12.0 CFNetwork/1494.0.7 Darwin/23.4.0", "mobile", "iOS", "App" },
        // Bots and scripts
        { "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "unknown", "unknown" },
        { "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "unknown", "unknown" },
        { "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot", "unknown", "unknown" },
        { "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "bot", "unknown", "unknown" },
        { "curl/8.5.0", "bot", "unknown", "unknown" },
        { "python-requests/2.31.0", "bot", "unknown", "unknown" },
        { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", "bot", "unknown", "unknown" },
        // Nothing to go on
        { "", "unknown", "unknown", "unknown" },
        { "   ", "unknown", "unknown", "unknown" },
        { "Mozilla/5.0", "unknown", "unknown", "unknown" },
    };

    [Theory]
    [MemberData(nameof(RealWorldUserAgents))]
    public void Parses_real_world_user_agents(string userAgent, string deviceType, string os, string browser)
    {
        Assert.Equal(new UserAgentInfo(deviceType, os, browser), UserAgentParser.Parse(userAgent));
    }

    [Fact]
    public void Parses_iphone_safari_as_mobile_ios_safari()
    {
        var info = UserAgentParser.Parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1");

        Assert.Equal(new UserAgentInfo("mobile", "iOS", "Safari"), info);
    }

    [Fact]
    public void Parses_null_as_unknown()
    {
        Assert.Equal(new UserAgentInfo("unknown", "unknown", "unknown"), UserAgentParser.Parse(null));
    }

    [Fact]
    public void Recognises_bots_whatever_their_case()
    {
        Assert.Equal("bot", UserAgentParser.Parse("Mozilla/5.0 (compatible; GOOGLEBOT/2.1)").DeviceType);
        Assert.Equal("bot", UserAgentParser.Parse("Python-Requests/2.31.0").DeviceType);
    }

    [Fact]
    public void Parsing_allocates_nothing()
    {
        var userAgents = RealWorldUserAgents().Select(row => (string)row[0]).ToArray();
        ParseAll(userAgents, 1);

        // A real allocation shows in every round; the best of three ignores the runtime's rare own bytes.
        var fewest = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            ParseAll(userAgents, 100);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
    }

    private static void ParseAll(string[] userAgents, int times)
    {
        for (var i = 0; i < times; i++)
        {
            foreach (var userAgent in userAgents)
            {
                UserAgentParser.Parse(userAgent);
            }
        }
    }
}
