using System.Text.Json.Nodes;
using Atalaya.Tests.Support;
using static Atalaya.Tests.Collect.CollectorHttpTests;

namespace Atalaya.Tests.Collect;

/// <summary>A retried event (same event_id) is stored once, whatever the endpoint and across restarts.</summary>
public sealed class DedupeTests
{
    [Fact]
    public async Task Answers_a_retry_as_a_duplicate_and_stores_it_once()
    {
        await using var hub = await TestHub.StartAsync();
        var e = Events.Valid("page_view", "retry-1").ToJsonString();
        var first = await Json(await hub.PostEventsAsync(e));
        var second = await Json(await hub.PostEventsAsync(e));
        Assert.Equal((1, 0), (first.GetProperty("accepted").GetInt32(), first.GetProperty("duplicates").GetInt32()));
        Assert.Equal((0, 1), (second.GetProperty("accepted").GetInt32(), second.GetProperty("duplicates").GetInt32()));
        Assert.Equal(1, StoredEvents.Count(hub.DataDirectory, "event_id = 'retry-1'"));
    }

    [Fact]
    public async Task Dedupes_within_one_request_and_across_native_and_segment_endpoints()
    {
        await using var hub = await TestHub.StartAsync();
        var twice = new JsonArray(Events.Valid("page_view", "same"), Events.Valid("page_view", "same"));
        var json = await Json(await hub.PostEventsAsync(twice.ToJsonString()));
        Assert.Equal((1, 1), (json.GetProperty("accepted").GetInt32(), json.GetProperty("duplicates").GetInt32()));

        var segment = await Json(await hub.PostSegmentAsync("/v1/track", """{"messageId":"same","userId":"u","event":"Anything"}"""));
        Assert.Equal(1, segment.GetProperty("duplicates").GetInt32());
        var segmentFirst = await Json(await hub.PostSegmentAsync("/v1/track", """{"messageId":"seg-first","userId":"u","event":"Anything"}"""));
        Assert.Equal(1, segmentFirst.GetProperty("accepted").GetInt32());
        var native = await Json(await hub.PostEventsAsync(Events.Valid("page_view", "seg-first").ToJsonString()));
        Assert.Equal(1, native.GetProperty("duplicates").GetInt32());
        Assert.Equal(2, StoredEvents.Count(hub.DataDirectory));
    }

    [Fact]
    public async Task Remembers_stored_event_ids_across_a_restart()
    {
        await using var hub = await TestHub.StartAsync();
        var batch = new JsonArray(Enumerable.Range(0, 50).Select(i => (JsonNode)Events.Valid("page_view", $"r-{i}")).ToArray());
        Assert.Equal(50, (await Json(await hub.PostEventsAsync(batch.ToJsonString()))).GetProperty("accepted").GetInt32());
        await hub.RestartAsync();
        var again = new JsonArray(Enumerable.Range(40, 20).Select(i => (JsonNode)Events.Valid("page_view", $"r-{i}")).ToArray());
        var json = await Json(await hub.PostEventsAsync(again.ToJsonString()));
        Assert.Equal((10, 10), (json.GetProperty("accepted").GetInt32(), json.GetProperty("duplicates").GetInt32()));
        Assert.Equal(60, StoredEvents.Count(hub.DataDirectory));
        Assert.Equal(60, StoredEvents.Query(hub.DataDirectory, "SELECT DISTINCT event_id FROM raw_events").Count);
    }

    [Fact]
    public async Task Concurrent_retries_of_one_event_store_it_exactly_once()
    {
        await using var hub = await TestHub.StartAsync();
        var e = Events.Valid("page_view", "race").ToJsonString();
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => hub.PostEventsAsync(e)));
        var bodies = await Task.WhenAll(answers.Select(Json));
        Assert.Equal(1, bodies.Sum(b => b.GetProperty("accepted").GetInt32()));
        Assert.Equal(15, bodies.Sum(b => b.GetProperty("duplicates").GetInt32()));
        Assert.Equal(1, StoredEvents.Count(hub.DataDirectory, "event_id = 'race'"));
    }
}
