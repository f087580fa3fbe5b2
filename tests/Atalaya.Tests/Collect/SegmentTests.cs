using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Atalaya.Engine.Collect;
using Atalaya.Tests.Support;
using static Atalaya.Tests.Collect.CollectorHttpTests;

namespace Atalaya.Tests.Collect;

/// <summary>
/// Segment HTTP Tracking API fixtures (payloads shaped as analytics.js, analytics-node and the
/// mobile SDKs send them) against the real hub, docs/collector.md (Segment-compatible events).
/// </summary>
public sealed class SegmentTests
{
    private const string Batch = """
        {
          "batch": [
            { "type": "track", "messageId": "seg-1", "anonymousId": "anon-1", "userId": "u-7", "event": "Product Viewed",
              "timestamp": "2026-03-01T12:00:00.000Z",
              "properties": { "product_id": "p-1", "name": "Tacos al pastor", "price": 85.5, "category": "food", "store_id": "st-1", "store_name": "Taquería" },
              "context": { "ip": "203.0.113.9", "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
                           "library": { "name": "analytics.js", "version": "5.2.0" }, "page": { "url": "https://shop.example/p/1", "referrer": "https://google.com/" },
                           "campaign": { "source": "google" }, "sessionId": "sess-9" } },
            { "type": "track", "messageId": "seg-2", "userId": "u-7", "event": "Order Completed", "timestamp": "2026-03-01T12:05:00Z",
              "properties": { "order_id": "o-1", "store_id": "st-1", "total": 201, "subtotal": 171, "shipping": 30, "currency": "MXN",
                              "products": [ { "product_id": "p-1", "quantity": 2, "price": 85.5 } ] } },
            { "type": "page", "messageId": "seg-3", "anonymousId": "anon-1", "name": "Home", "timestamp": "2026-03-01T11:59:00Z",
              "properties": { "url": "https://shop.example/", "title": "Tiendi" } },
            { "type": "screen", "messageId": "seg-4", "userId": 12345, "name": "Cart", "timestamp": "2026-03-01T12:01:00Z",
              "context": { "library": { "name": "analytics-ios" }, "app": { "namespace": "com.tiendi.ios" } } },
            { "type": "identify", "messageId": "seg-5", "userId": "u-7", "anonymousId": "anon-1", "traits": { "email": "ana@example.com", "plan": "pro" }, "timestamp": "2026-03-01T12:00:00Z" },
            { "type": "group", "messageId": "seg-6", "userId": "u-7", "groupId": "acme", "traits": { "name": "Acme" }, "timestamp": "2026-03-01T12:00:00Z" },
            { "type": "alias", "messageId": "seg-7", "userId": "u-7", "previousId": "anon-1", "timestamp": "2026-03-01T12:00:00Z" },
            { "type": "track", "messageId": "seg-8", "userId": "u-7", "event": "Gift Card Redeemed", "timestamp": "2026-03-01T12:00:00Z", "properties": { "card": "X" } }
          ],
          "context": { "library": { "name": "analytics-node" } }
        }
        """;

    [Fact]
    public async Task Maps_a_batch_of_every_call_type_to_catalog_events()
    {
        await using var hub = await TestHub.StartAsync();
        var response = await hub.PostSegmentAsync("/v1/batch", Batch);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Json(response);
        Assert.Equal(8, json.GetProperty("accepted").GetInt32());
        Assert.Empty(json.GetProperty("rejected").EnumerateArray());

        var viewed = StoredEvents.Single(hub.DataDirectory, "seg-1");
        Assert.Equal("product_viewed", viewed.GetProperty("event_type").GetString());
        Assert.Equal("Tacos al pastor", viewed.GetProperty("properties").GetProperty("product_name").GetString());
        Assert.Equal(85.5m, viewed.GetProperty("properties").GetProperty("product_price").GetDecimal());
        Assert.Equal("anon-1", viewed.GetProperty("anonymous_id").GetString());
        Assert.Equal("sess-9", viewed.GetProperty("session_id").GetString());
        var ctx = viewed.GetProperty("context");
        Assert.Equal("https://shop.example/p/1", ctx.GetProperty("page_url").GetString());
        Assert.Equal("https://google.com/", ctx.GetProperty("referrer").GetString());
        Assert.Equal("google", ctx.GetProperty("source").GetString());
        Assert.Equal("web", ctx.GetProperty("platform").GetString());
        Assert.Equal("203.0.113.0", ctx.GetProperty("ip").GetString()); // stored truncated to /24 (docs/privacy.md)

        var order = StoredEvents.Single(hub.DataDirectory, "seg-2");
        Assert.Equal("purchase_completed", order.GetProperty("event_type").GetString());
        Assert.Equal(30, order.GetProperty("properties").GetProperty("delivery_fee").GetInt32());
        Assert.Equal(2, order.GetProperty("properties").GetProperty("items")[0].GetProperty("quantity").GetInt32());
        Assert.Equal("server", order.GetProperty("context").GetProperty("platform").GetString());

        var page = StoredEvents.Single(hub.DataDirectory, "seg-3");
        Assert.Equal("page_view", page.GetProperty("event_type").GetString());
        Assert.Equal("https://shop.example/", page.GetProperty("context").GetProperty("page_url").GetString());

        var screen = StoredEvents.Single(hub.DataDirectory, "seg-4");
        Assert.Equal("page_view", screen.GetProperty("event_type").GetString());
        Assert.Equal("screen://Cart", screen.GetProperty("context").GetProperty("page_url").GetString());
        Assert.Equal("12345", screen.GetProperty("user_id").GetString());
        Assert.Equal("ios", screen.GetProperty("context").GetProperty("platform").GetString());
        Assert.Equal("com.tiendi.ios", screen.GetProperty("context").GetProperty("app_id").GetString());

        Assert.Equal("pro", StoredEvents.Single(hub.DataDirectory, "seg-5").GetProperty("properties").GetProperty("traits").GetProperty("plan").GetString());
        Assert.Equal("acme", StoredEvents.Single(hub.DataDirectory, "seg-6").GetProperty("properties").GetProperty("group_id").GetString());
        Assert.Equal("anon-1", StoredEvents.Single(hub.DataDirectory, "seg-7").GetProperty("properties").GetProperty("previous_id").GetString());
        var custom = StoredEvents.Single(hub.DataDirectory, "seg-8");
        Assert.Equal("gift_card_redeemed", custom.GetProperty("event_type").GetString());
        Assert.True(custom.GetProperty("custom").GetBoolean());
    }

    [Theory]
    [InlineData("/v1/track", """{"messageId":"one-track","userId":"u","event":"Products Searched","properties":{"query":"pizza"},"timestamp":"2026-03-01T12:00:00Z"}""", "product_searched")]
    [InlineData("/v1/page", """{"messageId":"one-page","anonymousId":"a","properties":{"url":"https://shop.example/x"},"timestamp":"2026-03-01T12:00:00Z"}""", "page_view")]
    [InlineData("/v1/screen", """{"messageId":"one-screen","anonymousId":"a","name":"Home","timestamp":"2026-03-01T12:00:00Z"}""", "page_view")]
    [InlineData("/v1/identify", """{"messageId":"one-identify","userId":"u","traits":{"name":"Ana"}}""", "identify")]
    [InlineData("/v1/group", """{"messageId":"one-group","userId":"u","groupId":"g"}""", "group")]
    [InlineData("/v1/alias", """{"messageId":"one-alias","userId":"u","previousId":"a"}""", "alias")]
    [InlineData("/v1/t", """{"messageId":"one-t","userId":"u","event":"Product Added","properties":{"product_id":"p","quantity":1,"price":9.5,"store_id":"s"},"timestamp":"2026-03-01T12:00:00Z"}""", "add_to_cart")]
    public async Task Accepts_each_single_call_endpoint(string path, string body, string expectedType)
    {
        await using var hub = await TestHub.StartAsync();
        var response = await hub.PostSegmentAsync(path, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("messageId").GetString()!;
        Assert.Equal(expectedType, StoredEvents.Single(hub.DataDirectory, id).GetProperty("event_type").GetString());
    }

    [Fact]
    public async Task Corrects_clock_skew_with_sent_at_as_segment_does()
    {
        await using var hub = await TestHub.StartAsync();
        // The device clock is 2 h behind: it stamped the event 30 s before it sent it.
        var sentAt = DateTimeOffset.UtcNow.AddHours(-2);
        var timestamp = sentAt.AddSeconds(-30);
        var body = $$"""{"batch":[{"type":"track","messageId":"skew-1","userId":"u","event":"Clicked","timestamp":"{{timestamp:yyyy-MM-ddTHH:mm:ss.fffZ}}"}],"sentAt":"{{sentAt:yyyy-MM-ddTHH:mm:ss.fffZ}}"}""";
        var before = DateTimeOffset.UtcNow;
        await hub.PostSegmentAsync("/v1/batch", body);
        var after = DateTimeOffset.UtcNow;
        var stored = DateTimeOffset.Parse(StoredEvents.Single(hub.DataDirectory, "skew-1").GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(stored, before.AddSeconds(-30).AddMilliseconds(-5), after.AddSeconds(-30).AddMilliseconds(5));
    }

    [Fact]
    public async Task Takes_the_write_key_from_basic_auth_bearer_or_the_body()
    {
        await using var hub = await TestHub.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await hub.PostSegmentAsync("/v1/track", """{"messageId":"k-basic","userId":"u","event":"A"}""")).StatusCode);
        var inBody = $$"""{"writeKey":"{{hub.WriteKey}}","batch":[{"type":"track","messageId":"k-body","userId":"u","event":"A"}]}""";
        Assert.Equal(HttpStatusCode.OK, (await hub.PostSegmentAsync("/v1/batch", inBody, key: "")).StatusCode);
        var noKey = """{"batch":[{"type":"track","messageId":"k-none","userId":"u","event":"A"}]}""";
        Assert.Equal(HttpStatusCode.Unauthorized, (await hub.PostSegmentAsync("/v1/batch", noKey, key: "")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await hub.PostSegmentAsync("/v1/batch", noKey, key: "atl_write_wrong")).StatusCode);
        Assert.Equal(2, StoredEvents.Count(hub.DataDirectory));
    }

    [Fact]
    public async Task Reads_a_gzip_batch_and_refuses_one_over_500_KB()
    {
        await using var hub = await TestHub.StartAsync();
        var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(Batch));
        }
        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        content.Headers.ContentEncoding.Add("gzip");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/batch") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(hub.WriteKey + ":")));
        var response = await hub.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(8, (await Json(response)).GetProperty("accepted").GetInt32());

        var messages = string.Join(",", Enumerable.Range(0, 3000).Select(i => "{\"type\":\"track\",\"messageId\":\"big-" + i + "\",\"userId\":\"u\",\"event\":\"Some Event\",\"properties\":{\"pad\":\"" + new string('x', 150) + "\"}}"));
        var big = await hub.PostSegmentAsync("/v1/batch", $$"""{"batch":[{{messages}}]}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Equal(0, StoredEvents.Count(hub.DataDirectory, "event_id LIKE 'big-%'"));
    }

    [Fact]
    public async Task Rejects_messages_of_an_unknown_type_or_a_track_without_a_name()
    {
        await using var hub = await TestHub.StartAsync();
        var body = """{"batch":[{"type":"launch","messageId":"bad-type"},{"type":"track","messageId":"no-name","userId":"u"},{"type":"track","messageId":"fine","userId":"u","event":"Ok"}]}""";
        var json = await Json(await hub.PostSegmentAsync("/v1/batch", body));
        Assert.Equal(1, json.GetProperty("accepted").GetInt32());
        var rejected = json.GetProperty("rejected");
        Assert.StartsWith("type: must be one of track", rejected[0].GetProperty("errors")[0].GetString());
        Assert.Equal("event: a track call needs an event name", rejected[1].GetProperty("errors")[0].GetString());
    }

    [Theory]
    [InlineData("Order Shipped", "order_shipped")]
    [InlineData("videoPlayed", "video_played")]
    [InlineData("Add-On  Bought!", "add_on_bought")]
    [InlineData("123 go", "e_123_go")]
    public void Turns_other_event_names_into_snake_case(string name, string expected) =>
        Assert.Equal(expected, SegmentMapper.ToSnakeCase(name));
}
