using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Storage;

/// <summary>How raw events sit on disk: compressed blocks, readable one row per event through raw_events.</summary>
public sealed class EventBlockTests(EngineHubFixture fixture) : IClassFixture<EngineHubFixture>
{
    [Fact]
    public async Task Stores_blocks_compressed_and_reads_them_back_event_by_event()
    {
        var events = new JsonArray(Enumerable.Range(0, 200).Select(i => (JsonNode)Events.Valid("page_view", $"blk-{i}")).ToArray());
        var body = Encoding.UTF8.GetBytes(events.ToJsonString());
        var result = await fixture.Hub.Pipeline.IngestNativeAsync(body, ndjson: false, "test");
        Assert.Equal(200, result.Accepted);

        var row = StoredEvents.Query(fixture.DataDirectory,
            "SELECT encoding || '|' || length(events) || '|' || event_count FROM event_blocks WHERE block_id = (SELECT max(block_id) FROM event_blocks)").Single().Split('|');
        Assert.Equal(BlockCodec.Lz4, row[0]);
        Assert.True(int.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture) * 5 < body.Length, $"a block of {body.Length} bytes of JSON took {row[1]} bytes");
        Assert.Equal("200", row[2]);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"blk-{i}"),
            StoredEvents.Query(fixture.DataDirectory, "SELECT event_id FROM raw_events WHERE event_id LIKE 'blk-%' ORDER BY seq"));
    }

    [Fact]
    public void Keeps_blocks_written_before_compression_readable()
    {
        using var connection = fixture.Hub.Database.Connect();
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO event_blocks (first_seq, event_count, received_at, min_timestamp, max_timestamp, source_system, id_hashes, events, encoding)
            VALUES (1000000, 1, 0, 0, 0, 'legacy', zeroblob(16), CAST('[{"event_id":"legacy-1","event_type":"page_view"}]' AS BLOB), 'json');
            """;
        insert.ExecuteNonQuery();
        Assert.Equal(["legacy-1"], StoredEvents.Query(fixture.DataDirectory, "SELECT event_id FROM raw_events WHERE source_system = 'legacy'"));
    }

    [Fact]
    public async Task Refuses_to_rewrite_or_delete_raw_events()
    {
        // Row triggers only fire on rows: make sure there is one.
        Assert.Equal(1, (await fixture.IngestAsync(Events.Valid("page_view").ToJsonString())).Accepted);
        using var connection = fixture.Hub.Database.Connect();
        using var command = connection.CreateCommand();
        foreach (var sql in new[] { "UPDATE event_blocks SET source_system = 'x'", "DELETE FROM event_blocks" })
        {
            command.CommandText = sql;
            var error = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => command.ExecuteNonQuery());
            Assert.Contains("raw events are append-only", error.Message);
        }
    }
}
