using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// The replay of stored blocks at start-up (<see cref="KpiProjection.ApplyBlocks"/>): events read on
/// one thread and added on another, blocks decoded into pooled buffers. It must build the very
/// projection that applying the events one by one builds, and that the hub built live, byte for
/// byte in its snapshot (the same pool ids in the same order), and stop on a block it cannot read.
/// </summary>
public sealed class ReplayTests : IDisposable
{
    private readonly TempDirectory _data = new("replay");

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task Replaying_on_two_threads_builds_the_projection_byte_for_byte_as_one_thread_and_the_live_hub_do()
    {
        byte[] live;
        await using (var hub = Hub.Open(_data.Path))
        {
            using (var ndjson = new MemoryStream())
            {
                // Several thousand events in several requests, so several blocks: many batches of facts handed over.
                DemoGenerator.WriteNdjson(new DemoOptions(Days: 6, Seed: 5, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 400), ndjson);
                var lines = Encoding.UTF8.GetString(ndjson.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                foreach (var part in lines.Chunk(lines.Length / 4 + 1))
                {
                    var result = await hub.Pipeline.IngestNativeAsync(Encoding.UTF8.GetBytes(string.Join('\n', part)), ndjson: true, "test");
                    Assert.Empty(result.Rejected);
                }
            }
            live = Snapshot(hub.Kpis.Projection);
        }

        var database = HubDatabase.Open(_data.Path);
        using var connection = database.Connect();
        var blocks = StoredBlocks.After(connection, 0).ToList();
        Assert.True(blocks.Count >= 2, $"{blocks.Count} block(s)");
        var events = blocks.Sum(b => b.Count);
        Assert.True(events > 4 * 1024, $"{events} events");

        var oneByOne = new KpiProjection();
        using (oneByOne.Write())
        {
            // The reference: each event found in its block and applied alone, as the commit path applies it.
            foreach (var block in blocks)
            {
                var json = block.Json.Span;
                var reader = new Utf8JsonReader(json);
                reader.Read();
                var seq = block.FirstSeq;
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    oneByOne.Apply(json[start..(int)reader.BytesConsumed], seq++);
                }
            }
        }
        var twoThreads = new KpiProjection();
        var reported = new List<long>();
        using (twoThreads.Write())
        {
            Assert.Equal(events, twoThreads.ApplyBlocks(StoredBlocks.After(connection, 0, pooled: true), reported.Add));
        }

        Assert.Equal(oneByOne.LastSeq, twoThreads.LastSeq);
        Assert.Equal(events, twoThreads.Count);
        Assert.Equal(events, reported[^1]);
        Assert.True(reported.SequenceEqual(reported.Order()) && reported.Count > 1, "progress is reported after each batch");
        var replayed = Snapshot(twoThreads);
        Assert.True(Snapshot(oneByOne).AsSpan().SequenceEqual(replayed), "two threads built another projection than one");
        Assert.True(live.AsSpan().SequenceEqual(replayed), "the replay built another projection than the live hub");
    }

    [Fact]
    public async Task A_start_says_how_long_it_read_the_snapshot_and_replayed_the_events_after_it()
    {
        await using (var hub = Hub.Open(_data.Path))
        {
            var events = string.Join('\n', Enumerable.Range(1, 2000).Select(Event));
            Assert.Empty((await hub.Pipeline.IngestNativeAsync(Encoding.UTF8.GetBytes(events), ndjson: true, "test")).Rejected);
        }
        await using (var hub = Hub.Open(_data.Path))
        {
            // A clean stop saved the snapshot: nothing to replay.
            Assert.Equal(0, hub.Kpis.ReplayedEvents);
            Assert.True(hub.Kpis.LoadTimes.Snapshot > TimeSpan.Zero);
        }
        File.Delete(Hub.SnapshotPath(_data.Path));
        await using (var hub = Hub.Open(_data.Path))
        {
            Assert.Equal(2000, hub.Kpis.ReplayedEvents);
            Assert.True(hub.Kpis.LoadTimes.Replay > TimeSpan.Zero);
        }
    }

    [Fact]
    public void A_block_that_cannot_be_read_stops_the_replay_with_the_readers_error_and_reads_no_further()
    {
        var good = Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Range(1, 3000).Select(Event)) + "]");
        var blocksRead = 0;
        IEnumerable<StoredBlock> Blocks()
        {
            blocksRead++;
            yield return new StoredBlock(1, 3000, good);
            blocksRead++;
            yield return new StoredBlock(3001, 2, Encoding.UTF8.GetBytes("[" + Event(3001) + ",{\"event_type\":"));
            blocksRead++;
            yield return new StoredBlock(3003, 3000, good);
        }

        var projection = new KpiProjection();
        using (projection.Write())
        {
            Assert.ThrowsAny<JsonException>(() => projection.ApplyBlocks(Blocks()));
        }

        Assert.Equal(2, blocksRead);
        // What was applied is whole events of the first block, in order, and nothing after the failure.
        Assert.InRange(projection.LastSeq, 1024, 3001);
        Assert.Equal(projection.LastSeq, projection.Count);
    }

    private static string Event(int n) =>
        "{\"event_id\":\"00000000-0000-4000-8000-" + n.ToString("D12", System.Globalization.CultureInfo.InvariantCulture)
        + "\",\"event_type\":\"page_viewed\",\"timestamp\":\"2026-03-01T10:00:00.000Z\",\"session_id\":\"s" + (n % 50)
        + "\",\"anonymous_id\":\"a" + (n % 70) + "\",\"context\":{\"country\":\"MX\"}}";

    private static byte[] Snapshot(KpiProjection projection)
    {
        using var stream = new MemoryStream();
        using (projection.Read())
        {
            projection.Save(stream);
        }
        return stream.ToArray();
    }
}
