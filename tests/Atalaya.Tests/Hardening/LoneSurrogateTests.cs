using System.Net;
using System.Text.Json;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Hardening;

/// <summary>
/// A lone UTF-16 surrogate escape (<c>"\ud800"</c>) in a Segment message is an answer, never a 5xx:
/// SDKs retry 5xx, so one such message would block its whole batch for ever. The message is refused
/// with a reason naming the bad string (as <c>/api/events</c> does for its own events); the rest of
/// the batch is stored.
/// </summary>
public sealed class LoneSurrogateTests
{
    private const string Bad = "\\ud800";

    public static TheoryData<string, string> Calls() => new()
    {
        { "/v1/track", $$$"""{"type":"track","messageId":"m-1","userId":"u-{{{Bad}}}","event":"Coupon Applied","timestamp":"2026-03-01T12:00:00Z"}""" },
        { "/v1/track", $$$"""{"type":"track","messageId":"m-1","userId":"u-1","event":"Coupon {{{Bad}}}","timestamp":"2026-03-01T12:00:00Z"}""" },
        { "/v1/page", $$$"""{"messageId":"m-1","anonymousId":"a-1","timestamp":"2026-03-01T12:00:00Z","properties":{"url":"https://x.example/{{{Bad}}}"}}""" },
        { "/v1/page", $$$"""{"messageId":"m-1","anonymousId":"a-1","timestamp":"2026-03-01T12:00:00Z","context":{"userAgent":"Mozilla {{{Bad}}}","sessionId":"s{{{Bad}}}"}}""" },
        { "/v1/identify", $$$"""{"messageId":"m-1","userId":"u-1","timestamp":"2026-03-01T12:00:00Z","traits":{"name":"{{{Bad}}}"},"context":{"locale":"{{{Bad}}}"}}""" },
        { "/v1/identify", $$$"""{"messageId":"m-{{{Bad}}}","userId":"u-1","timestamp":"2026-03-01T12:00:00Z"}""" },
        { "/v1/track", $$$"""{"messageId":"m-1","userId":"u-1","event":"X","timestamp":"2026-03-01T12:00:00{{{Bad}}}"}""" },
        { "/v1/track", $$$"""{"messageId":"m-1","userId":"u-1","event":"X","type":"tr{{{Bad}}}"}""" },
        { "/v1/track", $$$"""{"messageId":"m-1","userId":"u-1","event":"X","writeKey":"k{{{Bad}}}"}""" },
        { "/v1/track", $$$"""{"messageId":"m-1","userId":"u-1","event":"X","sentAt":"{{{Bad}}}"}""" },
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task A_single_call_with_a_lone_surrogate_answers_4xx_or_200_never_5xx(string path, string body)
    {
        await using var hub = await TestHub.StartAsync();

        var response = await hub.PostSegmentAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True((int)response.StatusCode is 200 or 400, $"{path} answered {(int)response.StatusCode}: {text}");
        if (response.StatusCode == HttpStatusCode.OK)
        {
            // Accepted (as /api/events accepts a lone surrogate inside properties) or refused with its reason.
            var json = JsonDocument.Parse(text).RootElement;
            Assert.Equal(1, json.GetProperty("accepted").GetInt32() + json.GetProperty("rejected").GetArrayLength());
        }
    }

    [Fact]
    public async Task In_a_batch_only_the_bad_message_is_refused_and_named()
    {
        await using var hub = await TestHub.StartAsync();
        var body = $$$"""
            {"batch":[
              {"type":"track","messageId":"good-1","userId":"u-1","event":"Coupon Applied","timestamp":"2026-03-01T12:00:00Z"},
              {"type":"track","messageId":"bad-1","userId":"u-{{{Bad}}}","event":"Coupon Applied","timestamp":"2026-03-01T12:00:00Z"},
              {"type":"identify","messageId":"bad-2","userId":"u-1","context":{"ip":"{{{Bad}}}"},"timestamp":"2026-03-01T12:00:00Z"},
              {"type":"track","messageId":"good-2","anonymousId":"a-1","event":"Coupon Removed","timestamp":"2026-03-01T12:00:00Z"}
            ]}
            """;

        var response = await hub.PostSegmentAsync("/v1/batch", body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(2, json.GetProperty("accepted").GetInt32());
        var rejected = json.GetProperty("rejected").EnumerateArray().ToList();
        Assert.Equal([1, 2], rejected.Select(r => r.GetProperty("index").GetInt32()));
        Assert.All(rejected, r => Assert.Contains("invalid string", r.GetProperty("errors")[0].GetString(), StringComparison.Ordinal));
        Assert.Equal(2, StoredEvents.Count(hub.DataDirectory));
    }
}
