using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Collect;

/// <summary>The native collector (POST /api/events) over real HTTP, docs/collector.md.</summary>
public sealed class CollectorHttpTests
{
    [Fact]
    public async Task Accepts_one_event_an_array_and_ndjson_answering_per_event_outcomes()
    {
        await using var hub = await TestHub.StartAsync();
        var single = await hub.PostEventsAsync(Events.Valid("page_view", "one").ToJsonString());
        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.Equal("""{"success":true,"accepted":1,"duplicates":0,"rejected":[]}""", await single.Content.ReadAsStringAsync());

        var array = new JsonArray(Events.Valid("page_view", "a1"), Events.Valid("store_visited", "a2"));
        var arrayBody = await Json(await hub.PostEventsAsync(array.ToJsonString()));
        Assert.Equal(2, arrayBody.GetProperty("accepted").GetInt32());

        var ndjson = Events.Valid("page_view", "n1").ToJsonString() + "\n\n" + Events.Valid("page_view", "n2").ToJsonString() + "\r\n";
        var ndjsonBody = await Json(await hub.PostEventsAsync(ndjson, "application/x-ndjson"));
        Assert.Equal(2, ndjsonBody.GetProperty("accepted").GetInt32());

        Assert.Equal(5, StoredEvents.Count(hub.DataDirectory));
    }

    [Fact]
    public async Task Reports_invalid_events_by_index_and_stores_the_valid_ones()
    {
        await using var hub = await TestHub.StartAsync();
        var bad = Events.Valid("add_to_cart", "bad-1");
        bad["properties"]!["quantity"] = "2";
        var body = new JsonArray(Events.Valid("page_view", "ok-1"), bad, Events.Valid("page_view", "ok-2"));
        var response = await hub.PostEventsAsync(body.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Json(response);
        Assert.Equal(2, json.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(json.GetProperty("rejected").EnumerateArray());
        Assert.Equal(1, rejected.GetProperty("index").GetInt32());
        Assert.Equal("bad-1", rejected.GetProperty("event_id").GetString());
        Assert.Equal("properties.quantity: must be an integer, got \"2\"", rejected.GetProperty("errors")[0].GetString());
        Assert.Equal(0, StoredEvents.Count(hub.DataDirectory, "event_id = 'bad-1'"));
        var quarantined = StoredEvents.Query(hub.DataDirectory, "SELECT event_id || '|' || reason || '|' || errors FROM failed_events");
        Assert.Equal("bad-1|InvalidProperties|[\"properties.quantity: must be an integer, got \\\"2\\\"\"]", Assert.Single(quarantined));
    }

    [Fact]
    public async Task Answers_200_with_the_refusal_when_no_event_in_the_request_is_valid()
    {
        // A readable request gets each event's outcome (docs/collector.md, "Answers").
        await using var hub = await TestHub.StartAsync();
        var bad = Events.Valid("purchase_completed", "bad-2");
        bad["properties"]!.AsObject().Remove("items");
        var response = await hub.PostEventsAsync(bad.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Json(response);
        Assert.Equal(0, json.GetProperty("accepted").GetInt32());
        Assert.Equal("bad-2", json.GetProperty("rejected")[0].GetProperty("event_id").GetString());
        Assert.Contains("properties.items: is required", json.GetProperty("error").GetString());
        Assert.Equal(0, StoredEvents.Count(hub.DataDirectory));
    }

    [Theory]
    [InlineData("", "The body is empty")]
    [InlineData("{\"event_id\": \"x\", ", "The body is not valid JSON")]
    [InlineData("[]", "empty array")]
    [InlineData("\"hello\"", "must be a JSON object (one event) or an array")]
    [InlineData("null", "must be a JSON object (one event) or an array")]
    public async Task Answers_400_naming_the_problem_for_a_malformed_body(string body, string expected)
    {
        await using var hub = await TestHub.StartAsync();
        var response = await hub.PostEventsAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, (await Json(response)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Refuses_missing_unknown_revoked_and_read_only_keys()
    {
        await using var hub = await TestHub.StartAsync();
        var e = Events.Valid("page_view").ToJsonString();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new StringContent(e, Encoding.UTF8, "application/json") };
        Assert.Equal(HttpStatusCode.Unauthorized, (await hub.Client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await hub.PostEventsAsync(e, key: "atl_write_notarealkey")).StatusCode);
        var admin = hub.CreateToken(Role.Admin);
        var forbidden = await hub.PostEventsAsync(e, key: admin);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("only write keys", (await Json(forbidden)).GetProperty("error").GetString());

        var (token, secret) = hub.Hub.Tokens.Create(new TokenRequest(Role.Write, Source: "web"));
        Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString(), key: secret)).StatusCode);
        Assert.True(hub.Hub.Tokens.Revoke(token.Id));
        Assert.Equal(HttpStatusCode.Unauthorized, (await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString(), key: secret)).StatusCode);
    }

    [Theory]
    [InlineData("text/html")]
    [InlineData("application/xml")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task Answers_415_for_a_content_type_it_does_not_read(string contentType)
    {
        await using var hub = await TestHub.StartAsync();
        var response = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString(), contentType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("application/x-ndjson", (await Json(response)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Reads_gzip_bodies_and_answers_413_when_they_inflate_past_the_limit()
    {
        await using var hub = await TestHub.StartAsync(o => o with { Ingest = o.Ingest with { MaxNativeRequestBytes = 64 * 1024 } });
        var events = new JsonArray(Enumerable.Range(0, 20).Select(i => (JsonNode)Events.Valid("page_view", $"gz-{i}")).ToArray());
        var ok = await PostGzip(hub, Encoding.UTF8.GetBytes(events.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(20, (await Json(ok)).GetProperty("accepted").GetInt32());

        var bomb = Encoding.UTF8.GetBytes("[" + new string(' ', 10 * 1024 * 1024) + "]");
        var tooLarge = await PostGzip(hub, bomb);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);

        var corrupt = new ByteArrayContent([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]);
        corrupt.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        corrupt.Headers.ContentEncoding.Add("gzip");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = corrupt };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", hub.WriteKey);
        Assert.Equal(HttpStatusCode.BadRequest, (await hub.Client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Rejects_an_event_over_32_KB_and_a_request_over_5_MB()
    {
        await using var hub = await TestHub.StartAsync();
        var big = Events.Valid("page_view", "big");
        big["properties"] = new JsonObject { ["blob"] = new string('x', 33 * 1024) };
        var response = await hub.PostEventsAsync(new JsonArray(big, Events.Valid("page_view", "small")).ToJsonString());
        var json = await Json(response);
        Assert.Equal(1, json.GetProperty("accepted").GetInt32());
        Assert.StartsWith("event: is ", json.GetProperty("rejected")[0].GetProperty("errors")[0].GetString());

        var huge = "[" + string.Join(",", Enumerable.Repeat(Events.Valid("page_view").ToJsonString(), 30_000)) + "]";
        Assert.True(huge.Length > 5 * 1024 * 1024);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await hub.PostEventsAsync(huge)).StatusCode);
    }

    [Fact]
    public async Task Clamps_timestamps_more_than_a_day_ahead_and_flags_them()
    {
        await using var hub = await TestHub.StartAsync();
        var future = Events.Valid("page_view", "future");
        future["timestamp"] = DateTime.UtcNow.AddDays(3).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var soon = Events.Valid("page_view", "soon");
        var soonAt = DateTime.UtcNow.AddHours(2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        soon["timestamp"] = soonAt;
        await hub.PostEventsAsync(new JsonArray(future, soon).ToJsonString());
        var stored = StoredEvents.Single(hub.DataDirectory, "future");
        Assert.Equal(stored.GetProperty("received_at").GetString(), stored.GetProperty("timestamp").GetString());
        Assert.Equal("timestamp_clamped", stored.GetProperty("flags")[0].GetString());
        Assert.Equal(future["timestamp"]!.GetValue<string>(), stored.GetProperty("original_timestamp").GetString());
        Assert.Equal(soonAt, StoredEvents.Single(hub.DataDirectory, "soon").GetProperty("timestamp").GetString());
    }

    [Fact]
    public async Task Fills_store_dimensions_from_store_created_including_in_the_same_request()
    {
        await using var hub = await TestHub.StartAsync();
        var store = Events.Valid("store_created", "store-1");
        var visit = Events.Valid("store_visited", "visit-1");
        visit["context"]!.AsObject().Remove("country");
        await hub.PostEventsAsync(new JsonArray(store, visit).ToJsonString());
        var ctx = StoredEvents.Single(hub.DataDirectory, "visit-1").GetProperty("context");
        Assert.Equal("MX", ctx.GetProperty("country").GetString());
        Assert.Equal("cdmx-norte", ctx.GetProperty("hub").GetString());
        Assert.Equal("z1", ctx.GetProperty("zone").GetString());
        Assert.Equal("restaurant", ctx.GetProperty("category").GetString());

        // A later request, and a restart, still know the store; a value the client sent wins.
        var later = Events.Valid("store_visited", "visit-2");
        later["context"]!["country"] = "CO";
        await hub.RestartAsync();
        await hub.PostEventsAsync(new JsonArray(later).ToJsonString());
        var laterCtx = StoredEvents.Single(hub.DataDirectory, "visit-2").GetProperty("context");
        Assert.Equal("CO", laterCtx.GetProperty("country").GetString());
        Assert.Equal("cdmx-norte", laterCtx.GetProperty("hub").GetString());
    }

    [Fact]
    public async Task Stores_the_fx_rate_used_frozen_by_the_source_or_from_the_rate_table()
    {
        await using var hub = await TestHub.StartAsync();
        hub.Hub.Fx.Save(hub.Hub.FxRows, [(new DateOnly(2026, 2, 27), "MXN", 0.0581m), (new DateOnly(2026, 3, 2), "MXN", 0.07m)]);
        var frozen = Events.Valid("purchase_completed", "frozen");
        frozen["properties"]!["fx_rate_to_reporting"] = 0.0555;
        var looked = Events.Valid("payment_succeeded", "looked");
        var usd = Events.Valid("subscription_charged", "usd");
        usd["properties"]!["currency"] = "USD";
        var unknown = Events.Valid("payment_failed", "unknown");
        unknown["properties"]!["currency"] = "SEK";
        await hub.PostEventsAsync(new JsonArray(frozen, looked, usd, unknown).ToJsonString());

        Assert.Equal(0.0555m, StoredEvents.Single(hub.DataDirectory, "frozen").GetProperty("fx_rate_to_reporting").GetDecimal());
        Assert.Equal("event", StoredEvents.Single(hub.DataDirectory, "frozen").GetProperty("fx_source").GetString());
        // 2026-03-01 has no rate: the closest earlier day's (02-27) is used, not the later one.
        Assert.Equal(0.0581m, StoredEvents.Single(hub.DataDirectory, "looked").GetProperty("fx_rate_to_reporting").GetDecimal());
        Assert.Equal(1m, StoredEvents.Single(hub.DataDirectory, "usd").GetProperty("fx_rate_to_reporting").GetDecimal());
        var missing = StoredEvents.Single(hub.DataDirectory, "unknown");
        Assert.False(missing.TryGetProperty("fx_rate_to_reporting", out _));
        Assert.Equal("fx_rate_missing", missing.GetProperty("flags")[0].GetString());

        // Editing the table later never changes what was stored.
        hub.Hub.Fx.Save(hub.Hub.FxRows, [(new DateOnly(2026, 2, 27), "MXN", 0.01m)]);
        Assert.Equal(0.0581m, StoredEvents.Single(hub.DataDirectory, "looked").GetProperty("fx_rate_to_reporting").GetDecimal());
    }

    [Fact]
    public async Task Derives_device_os_and_browser_from_the_user_agent_unless_sent()
    {
        await using var hub = await TestHub.StartAsync();
        var iphone = Events.Valid("page_view", "ua-1");
        iphone["context"]!["user_agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        var explicitDevice = Events.Valid("page_view", "ua-2");
        explicitDevice["context"]!["user_agent"] = iphone["context"]!["user_agent"]!.GetValue<string>();
        explicitDevice["context"]!["device_type"] = "tablet";
        await hub.PostEventsAsync(new JsonArray(iphone, explicitDevice).ToJsonString());
        var ctx = StoredEvents.Single(hub.DataDirectory, "ua-1").GetProperty("context");
        Assert.Equal("mobile", ctx.GetProperty("device_type").GetString());
        Assert.Equal("iOS", ctx.GetProperty("os").GetString());
        Assert.Equal("Safari", ctx.GetProperty("browser").GetString());
        Assert.Equal("tablet", StoredEvents.Single(hub.DataDirectory, "ua-2").GetProperty("context").GetProperty("device_type").GetString());
    }

    [Fact]
    public async Task Answers_429_with_retry_after_when_a_source_exceeds_its_rate_limit()
    {
        await using var hub = await TestHub.StartAsync(o => o with { RateLimitPerSecond = 3 });
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            statuses.Add((await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString())).StatusCode);
        }
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        var limited = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString());
        if (limited.StatusCode == HttpStatusCode.TooManyRequests)
        {
            Assert.NotNull(limited.Headers.RetryAfter);
        }
        // Another source has its own budget.
        var other = hub.CreateToken(Role.Write, source: "other");
        Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString(), key: other)).StatusCode);
    }

    [Fact]
    public async Task Answers_503_with_retry_after_and_stores_nothing_when_the_disk_is_full()
    {
        // A fresh data folder's schema takes 61 pages of 16 KiB; a few more hold the first batches.
        await using var hub = await TestHub.StartAsync(o => o with { MaxPageCount = 64 });
        HttpResponseMessage? full = null;
        var acknowledged = new List<string>();
        for (var i = 0; i < 200 && full is null; i++)
        {
            var batch = new JsonArray(Enumerable.Range(0, 20).Select(j =>
            {
                var e = Events.Valid("page_view", $"fill-{i}-{j}");
                // Random text: blocks are stored compressed, so the padding must not compress.
                e["properties"] = new JsonObject { ["pad"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(750)) };
                return (JsonNode)e;
            }).ToArray());
            var response = await hub.PostEventsAsync(batch.ToJsonString());
            if (response.StatusCode == HttpStatusCode.OK)
            {
                acknowledged.AddRange(Enumerable.Range(0, 20).Select(j => $"fill-{i}-{j}"));
            }
            else
            {
                full = response;
            }
        }
        Assert.NotNull(full);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
        Assert.NotNull(full.Headers.RetryAfter);
        Assert.Contains("full", (await Json(full)).GetProperty("error").GetString());
        // Everything acknowledged is there, nothing of the refused batch is, and the hub still answers.
        Assert.Equal(acknowledged.Count, StoredEvents.Count(hub.DataDirectory));
        Assert.Equal(HttpStatusCode.OK, (await hub.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Records_when_a_write_key_was_last_used()
    {
        await using var hub = await TestHub.StartAsync();
        Assert.Null(hub.Hub.Tokens.List().Single(t => t.Role == Role.Write).LastUsedAt);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString());
        hub.Hub.Tokens.FlushLastUsed();
        Assert.InRange(hub.Hub.Tokens.List().Single(t => t.Role == Role.Write).LastUsedAt!.Value, before, DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task Answers_browser_preflights_so_web_sdks_can_post_from_a_shop_origin()
    {
        await using var hub = await TestHub.StartAsync();
        foreach (var path in new[] { "/v1/batch", "/v1/t", "/api/events" })
        {
            var preflight = new HttpRequestMessage(HttpMethod.Options, path);
            preflight.Headers.Add("Origin", "https://shop.example");
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "content-type,authorization");
            var response = await hub.Client.SendAsync(preflight);
            Assert.True(response.IsSuccessStatusCode, $"{path}: {response.StatusCode}");
            Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
    }

    [Fact]
    public async Task Health_and_readiness_answer_once_the_store_is_open()
    {
        await using var hub = await TestHub.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await hub.Client.GetAsync("/healthz")).StatusCode);
        var ready = await Json(await hub.Client.GetAsync("/readyz"));
        Assert.Equal("ready", ready.GetProperty("status").GetString());
    }

    private static async Task<HttpResponseMessage> PostGzip(TestHub hub, byte[] body)
    {
        var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(body);
        }
        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", hub.WriteKey);
        return await hub.Client.SendAsync(request);
    }

    internal static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}
