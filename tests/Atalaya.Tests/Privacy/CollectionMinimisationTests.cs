using System.Net;
using System.Text.Json.Nodes;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Privacy;

/// <summary>Minimisation at collection (docs/privacy.md): IPs stored truncated on every path, and context.consent honoured.</summary>
public sealed class CollectionMinimisationTests
{
    private static JsonObject PageView(string id, JsonObject context)
    {
        context["page_url"] ??= "https://shop.example/";
        return Event(id, context);
    }

    private static JsonObject Event(string id, JsonObject context) => new()
    {
        ["event_id"] = id,
        ["event_type"] = "page_view",
        ["timestamp"] = "2026-03-01T12:00:00Z",
        ["user_id"] = "u-min",
        ["session_id"] = "s-min",
        ["context"] = context,
        ["properties"] = new JsonObject(),
    };

    [Fact]
    public void The_environment_file_sets_how_much_of_an_ip_is_kept_and_refuses_a_prefix_out_of_range()
    {
        var defaults = Engine.EnvironmentFiles.Parse("environment: dev\n", "dev.yaml", "dev");
        Assert.Equal((24, 48), (defaults.Privacy.IpV4PrefixBits, defaults.Privacy.IpV6PrefixBits));
        var set = Engine.EnvironmentFiles.Parse("environment: dev\nprivacy: {ip_v4_prefix_bits: 16, ip_v6_prefix_bits: 32}\n", "dev.yaml", "dev");
        Assert.Equal((16, 32), (set.Privacy.IpV4PrefixBits, set.Privacy.IpV6PrefixBits));
        foreach (var (yaml, key) in new[] { ("ip_v4_prefix_bits: 33", "privacy.ip_v4_prefix_bits"), ("ip_v6_prefix_bits: -1", "privacy.ip_v6_prefix_bits") })
        {
            var error = Assert.Throws<Engine.Config.ConfigException>(() => Engine.EnvironmentFiles.Parse($"environment: dev\nprivacy: {{{yaml}}}\n", "dev.yaml", "dev"));
            Assert.Contains(key, error.Message, StringComparison.Ordinal);
        }
        // Every shipped environment file names both settings, so an operator finds them.
        foreach (var name in Engine.Config.EnvironmentConfig.Names)
        {
            var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "config", "environments", name + ".yaml"));
            Assert.Contains("ip_v4_prefix_bits:", text, StringComparison.Ordinal);
            Assert.Contains("ip_v6_prefix_bits:", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Ips_are_stored_truncated_whichever_path_the_event_takes()
    {
        await using var hub = await TestHub.StartAsync();
        var events = new JsonArray(
            PageView("ip-v4", new JsonObject { ["ip"] = "198.51.100.23", ["page_url"] = "https://shop.example/" }),
            PageView("ip-v6", new JsonObject { ["ip"] = "2001:db8:abcd:12::1" }),
            // Escaped text and a null member send the event to the document path.
            PageView("ip-escaped", new JsonObject { ["ip"] = "198.51.100.99", ["os"] = null }),
            PageView("ip-not-an-address", new JsonObject { ["ip"] = "somewhere", ["country"] = "SE" }));
        using (var response = await hub.PostEventsAsync(events.ToJsonString().Replace("198.51.100.99", "198.51.100.\\u0039\\u0039", StringComparison.Ordinal)))
        {
            var answer = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK && answer.Contains("\"accepted\":4", StringComparison.Ordinal), answer);
        }
        using (var segment = await hub.PostSegmentAsync("/v1/track", """
            {"type":"track","event":"Signed Up","messageId":"ip-segment","userId":"u-min","timestamp":"2026-03-01T12:00:00Z",
             "context":{"ip":"203.0.113.200","userAgent":"Mozilla/5.0"}}
            """))
        {
            var answer = await segment.Content.ReadAsStringAsync();
            Assert.True(segment.StatusCode == HttpStatusCode.OK && answer.Contains("\"accepted\":1", StringComparison.Ordinal), answer);
        }

        string? Ip(string id) => StoredEvents.Single(hub.DataDirectory, id).GetProperty("context").TryGetProperty("ip", out var ip) ? ip.GetString() : null;
        Assert.Equal("198.51.100.0", Ip("ip-v4"));
        Assert.Equal("2001:db8:abcd::", Ip("ip-v6"));
        Assert.Equal("198.51.100.0", Ip("ip-escaped"));
        Assert.Null(Ip("ip-not-an-address"));
        Assert.Equal("203.0.113.0", Ip("ip-segment"));
        Assert.Equal("SE", StoredEvents.Single(hub.DataDirectory, "ip-not-an-address").GetProperty("context").GetProperty("country").GetString());
    }

    [Fact]
    public async Task Without_analytics_consent_the_event_is_kept_for_the_kpis_without_personal_fields()
    {
        await using var hub = await TestHub.StartAsync();
        var e = PageView("no-consent", new JsonObject
        {
            ["ip"] = "198.51.100.23",
            ["user_agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            ["page_url"] = "https://shop.example/p/1?email=ana%40example.se",
            ["country"] = "SE",
            ["consent"] = new JsonObject { ["analytics"] = false },
        });
        e["properties"] = new JsonObject { ["email"] = "ana@example.se", ["contact"] = "ana@example.se", ["path"] = "/p/1?utm=x" };
        using (var response = await hub.PostEventsAsync(e.ToJsonString()))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var stored = StoredEvents.Single(hub.DataDirectory, "no-consent");
        var context = stored.GetProperty("context");
        Assert.False(context.TryGetProperty("ip", out _));
        Assert.False(context.TryGetProperty("user_agent", out _));
        Assert.Equal("https://shop.example/p/1", context.GetProperty("page_url").GetString());
        // What the KPIs read stays: the user, the session, the country, the device derived before the user agent went.
        Assert.Equal("u-min", stored.GetProperty("user_id").GetString());
        Assert.Equal("SE", context.GetProperty("country").GetString());
        Assert.Equal("mobile", context.GetProperty("device_type").GetString());
        Assert.Equal("iOS", context.GetProperty("os").GetString());
        var properties = stored.GetProperty("properties");
        Assert.False(properties.TryGetProperty("email", out _));
        Assert.False(properties.TryGetProperty("contact", out _));
        Assert.Equal("/p/1", properties.GetProperty("path").GetString());
        Assert.DoesNotContain("ana@", stored.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("ana%40", stored.GetRawText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"categoryPreferences": {"Analytics": false, "Advertising": true}}""", false)]
    [InlineData("""{"analytics": false}""", false)]
    [InlineData("""{"categoryPreferences": {"Analytics": true}}""", true)]
    public async Task A_segment_message_s_consent_is_honoured_as_the_native_apis(string consent, bool kept)
    {
        await using var hub = await TestHub.StartAsync();
        var id = "seg-consent-" + kept + "-" + consent.Length;
        var body = $$$"""
            {"type": "track", "event": "Product Viewed", "messageId": "{{{id}}}", "userId": "u-seg-consent", "timestamp": "2026-03-01T12:00:00Z",
             "properties": {"product_id": "p-1", "name": "Shoe", "price": 10, "email": "ana@example.se"},
             "context": {"ip": "198.51.100.23", "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                         "page": {"url": "https://shop.example/p/1?email=ana%40example.se"}, "consent": {{{consent}}}}}
            """;
        using (var response = await hub.PostSegmentAsync("/v1/track", body))
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
        var stored = StoredEvents.Single(hub.DataDirectory, id);
        var context = stored.GetProperty("context");
        Assert.Equal(kept, context.TryGetProperty("ip", out _));
        Assert.Equal(kept, context.TryGetProperty("user_agent", out _));
        Assert.Equal(kept, stored.GetRawText().Contains("ana@", StringComparison.Ordinal));
        Assert.Equal("u-seg-consent", stored.GetProperty("user_id").GetString());
        Assert.Equal("mobile", context.GetProperty("device_type").GetString());
    }
}
