using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Hardening;

/// <summary>
/// /api/events and the Segment API answer alike (docs/collector.md, "Answers" and "Decisions"):
/// a readable request whose events are all invalid is a 200 with each event's outcome; an empty
/// batch is a 400 on both; a numeric timestamp is refused on both; a message without messageId
/// is stored once however often it is retried; a plain body labelled gzip is a 400 on both.
/// </summary>
public sealed class CollectorConsistencyTests
{
    [Fact]
    public async Task A_request_whose_events_are_all_invalid_answers_200_with_each_outcome_on_both_apis()
    {
        await using var hub = await TestHub.StartAsync();

        var native = await hub.PostEventsAsync("""[{"event_id":"n-1","event_type":"Bad Type","timestamp":"2026-03-01T12:00:00Z"},{}]""");
        var segment = await hub.PostSegmentAsync("/v1/batch", """{"batch":[{"type":"track","messageId":"s-1","userId":"u"},{"type":"nonsense"}]}""");
        var single = await hub.PostSegmentAsync("/v1/track", """{"messageId":"s-2","userId":"u"}""");

        foreach (var (response, rejected) in new[] { (native, 2), (segment, 2), (single, 1) })
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.RequestMessage!.RequestUri} answered {(int)response.StatusCode}: {text}");
            var json = JsonDocument.Parse(text).RootElement;
            Assert.Equal(0, json.GetProperty("accepted").GetInt32());
            Assert.Equal(rejected, json.GetProperty("rejected").GetArrayLength());
            Assert.All(json.GetProperty("rejected").EnumerateArray(), r => Assert.NotEmpty(r.GetProperty("errors").EnumerateArray()));
            Assert.False(string.IsNullOrEmpty(json.GetProperty("error").GetString()));
        }
        Assert.Equal(0, StoredEvents.Count(hub.DataDirectory));
        Assert.Equal("5", StoredEvents.Query(hub.DataDirectory, "SELECT count(*) FROM failed_events;").Single());
    }

    [Fact]
    public async Task An_empty_batch_is_a_400_as_an_empty_array_is()
    {
        await using var hub = await TestHub.StartAsync();

        var segment = await hub.PostSegmentAsync("/v1/batch", """{"batch":[]}""");
        var native = await hub.PostEventsAsync("[]");

        Assert.Equal([HttpStatusCode.BadRequest, HttpStatusCode.BadRequest], [segment.StatusCode, native.StatusCode]);
        Assert.Contains("empty", await segment.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_numeric_unix_timestamp_is_refused_on_both_apis_with_the_same_words()
    {
        await using var hub = await TestHub.StartAsync();

        var segment = await hub.PostSegmentAsync("/v1/track", """{"messageId":"t-1","userId":"u","event":"Coupon Applied","timestamp":1772366400}""");
        var native = await hub.PostEventsAsync("""{"event_id":"t-2","event_type":"coupon_applied","user_id":"u","timestamp":1772366400}""");

        var segmentError = Error(await segment.Content.ReadAsStringAsync());
        var nativeError = Error(await native.Content.ReadAsStringAsync());
        Assert.StartsWith("timestamp:", segmentError, StringComparison.Ordinal);
        Assert.Equal(nativeError, segmentError);
        Assert.Equal(0, StoredEvents.Count(hub.DataDirectory));
    }

    [Fact]
    public async Task A_message_without_messageId_retried_is_stored_once()
    {
        await using var hub = await TestHub.StartAsync();
        const string identify = """{"type":"identify","traits":{"plan":"pro"},"timestamp":"2026-03-01T12:00:00Z"}""";
        const string other = """{"type":"identify","traits":{"plan":"free"},"timestamp":"2026-03-01T12:00:00Z"}""";

        var answers = new List<string>();
        foreach (var body in new[] { identify, identify, identify, other })
        {
            answers.Add(await (await hub.PostSegmentAsync("/v1/identify", body)).Content.ReadAsStringAsync());
        }

        Assert.Equal(2, StoredEvents.Count(hub.DataDirectory));
        Assert.Equal([1, 0, 0, 1], answers.Select(a => JsonDocument.Parse(a).RootElement.GetProperty("accepted").GetInt32()));
        Assert.Equal([0, 1, 1, 0], answers.Select(a => JsonDocument.Parse(a).RootElement.GetProperty("duplicates").GetInt32()));
    }

    [Theory]
    [InlineData("/api/events", "[{\"event_id\":\"g-1\",\"event_type\":\"coupon_applied\",\"timestamp\":\"2026-03-01T12:00:00Z\"}]")]
    [InlineData("/v1/batch", "{\"batch\":[{\"type\":\"track\",\"messageId\":\"g-2\",\"userId\":\"u\",\"event\":\"Coupon Applied\",\"timestamp\":\"2026-03-01T12:00:00Z\"}]}")]
    [InlineData("/v1/track", "{\"messageId\":\"g-3\",\"userId\":\"u\",\"event\":\"Coupon Applied\",\"timestamp\":\"2026-03-01T12:00:00Z\"}")]
    [InlineData("/v1/t", "{\"messageId\":\"g-4\",\"userId\":\"u\",\"event\":\"Coupon Applied\",\"timestamp\":\"2026-03-01T12:00:00Z\"}")]
    public async Task A_plain_body_labelled_gzip_is_a_400_and_stores_nothing(string path, string body)
    {
        await using var hub = await TestHub.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.Authorization = path.StartsWith("/api", StringComparison.Ordinal)
            ? new AuthenticationHeaderValue("Bearer", hub.WriteKey)
            : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(hub.WriteKey + ":")));

        using var response = await hub.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("gzip", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, StoredEvents.Count(hub.DataDirectory));
    }

    private static string Error(string answer)
    {
        var json = JsonDocument.Parse(answer).RootElement;
        return json.GetProperty("rejected")[0].GetProperty("errors")[0].GetString()!;
    }
}
