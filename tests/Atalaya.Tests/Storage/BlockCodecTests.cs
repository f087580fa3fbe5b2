using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Support;
using EngineQuery = Atalaya.Engine.Kpi.Query;

namespace Atalaya.Tests.Storage;

/// <summary>
/// Event blocks are written with LZ4 and read back by the codec each block names, so that a data
/// folder written with deflate (or plain JSON) blocks keeps working after the upgrade: the same
/// events through raw_events, the same dedupe, the same KPI figures, before and after restarts.
/// </summary>
public sealed class BlockCodecTests
{
    public static TheoryData<string, int> Inputs => new()
    {
        { "empty array", 0 },
        { "one event", 1 },
        { "a request of events", 5000 },
        { "random bytes (incompressible)", -1 },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Lz4_gives_back_exactly_what_it_was_given(string what, int events)
    {
        var input = Input(events);
        var (buffer, length) = BlockCodec.Compress(input);
        try
        {
            var stored = buffer.AsSpan(0, length).ToArray();
            Assert.True(input.AsSpan().SequenceEqual(BlockCodec.Decode(BlockCodec.Lz4, stored)), $"{what}: the round trip changed the bytes");
            Assert.True(events <= 1 || length * 3 < input.Length, $"{what}: {input.Length} bytes compressed to {length}");
        }
        finally
        {
            BlockCodec.Release(buffer);
        }
    }

    [Fact]
    public void Deflate_and_plain_blocks_still_decode()
    {
        var input = Input(500);
        Assert.Equal(input, BlockCodec.Decode(BlockCodec.Deflate, BlockCodec.DeflateBlock(input)));
        Assert.Equal(input, BlockCodec.Decode(BlockCodec.Json, input));
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_pooled_decode_gives_the_same_bytes_in_every_codec(string what, int events)
    {
        var input = Input(events);
        var (buffer, length) = BlockCodec.Compress(input);
        var lz4 = buffer.AsSpan(0, length).ToArray();
        BlockCodec.Release(buffer);
        foreach (var (codec, stored) in new[] { (BlockCodec.Lz4, lz4), (BlockCodec.Deflate, BlockCodec.DeflateBlock(input)), (BlockCodec.Json, input) })
        {
            var (pooled, decoded) = BlockCodec.DecodePooled(codec, stored);
            try
            {
                Assert.True(input.AsSpan().SequenceEqual(pooled.AsSpan(0, decoded)), $"{what} in {codec}: the pooled decode changed the bytes");
            }
            finally
            {
                BlockCodec.Release(pooled);
            }
        }
    }

    [Fact]
    public void Refuses_a_block_in_an_unknown_codec()
    {
        var error = Assert.Throws<InvalidDataException>(() => BlockCodec.Decode("zstd", [1, 2, 3]));
        Assert.Contains("'zstd'", error.Message);
    }

    [Fact]
    public async Task A_data_folder_of_deflate_blocks_reads_back_identically_and_keeps_dedupe_and_kpis_across_restarts()
    {
        var directory = Path.Combine(Path.GetTempPath(), "atalaya-codec-" + Guid.NewGuid().ToString("N"));
        try
        {
            var demo = DemoNdjson();
            List<string> events, answers;
            long count;
            await using (var hub = Hub.Open(directory))
            {
                var summary = await NdjsonImporter.ImportAsync(hub.Pipeline, new MemoryStream(demo), "demo");
                Assert.True(summary.Rejected == 0, string.Join("; ", summary.FirstErrors));
                count = hub.Log.EventCount;
                answers = Answers(hub);
            }
            events = RawEvents(directory);
            Assert.Equal(count, events.Count);

            AsPreviousVersionLeftIt(directory);
            Assert.Equal([BlockCodec.Deflate], Encodings(directory));

            // Upgraded: the same events, the same figures (rebuilt from the deflate blocks), and
            // every event already stored is a duplicate.
            await using (var hub = Hub.Open(directory))
            {
                Assert.Equal(0, hub.Kpis.SnapshotSeq);
                Assert.Equal(events, RawEvents(directory));
                Assert.Equal(answers, Answers(hub));
                var again = await NdjsonImporter.ImportAsync(hub.Pipeline, new MemoryStream(demo), "demo");
                Assert.Equal((0L, count), (again.Accepted, again.Duplicates));

                var late = new EventBuilder("codec");
                late.Order("2026-03-02T10:40:00Z", "o-codec", "st-codec", "u-codec", "s-codec", total: 120);
                late.PageView("2026-03-03T05:50:00Z", "u-codec", "s-codec");
                var result = await hub.Pipeline.IngestNativeAsync(Encoding.UTF8.GetBytes(EventBuilder.Ndjson(late.Events)), ndjson: true, "test");
                Assert.Equal(2, result.Accepted);
                answers = Answers(hub);
                Assert.Equal(count + 2, hub.Log.EventCount);
            }
            Assert.Equal([BlockCodec.Deflate, BlockCodec.Lz4], Encodings(directory));
            events = RawEvents(directory);
            Assert.Equal(count + 2, events.Count);

            // Restarted from the snapshots, then from the blocks alone (old and new codecs mixed).
            foreach (var withSnapshots in new[] { true, false })
            {
                if (!withSnapshots)
                {
                    File.Delete(Hub.SnapshotPath(directory));
                    File.Delete(EventLog.IndexSnapshotPath(directory));
                }
                await using var hub = Hub.Open(directory);
                Assert.Equal(withSnapshots, hub.Kpis.SnapshotSeq > 0);
                Assert.Equal(events, RawEvents(directory));
                Assert.Equal(answers, Answers(hub));
                var again = await NdjsonImporter.ImportAsync(hub.Pipeline, new MemoryStream(demo), "demo");
                Assert.Equal((0L, count), (again.Accepted, again.Duplicates));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// What a data folder looked like before LZ4 (schema 4): every block deflated, marked
    /// 'deflate', the view of migration 2, and no snapshots (start-up must read the blocks).
    /// </summary>
    private static void AsPreviousVersionLeftIt(string directory)
    {
        var database = new HubDatabase(directory);
        using (var connection = database.Connect())
        {
            using var transaction = connection.BeginTransaction();
            var blocks = new List<(long Id, byte[] Deflated)>();
            using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = "SELECT block_id, encoding, events FROM event_blocks;";
                using var reader = read.ExecuteReader();
                while (reader.Read())
                {
                    blocks.Add((reader.GetInt64(0), BlockCodec.DeflateBlock(BlockCodec.Decode(reader.GetString(1), (byte[])reader.GetValue(2)))));
                }
            }
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DROP TRIGGER event_blocks_no_update;";
            command.ExecuteNonQuery();
            command.CommandText = "UPDATE event_blocks SET encoding = 'deflate', events = $events WHERE block_id = $id;";
            var events = command.Parameters.Add("$events", Microsoft.Data.Sqlite.SqliteType.Blob);
            var id = command.Parameters.Add("$id", Microsoft.Data.Sqlite.SqliteType.Integer);
            foreach (var block in blocks)
            {
                (events.Value, id.Value) = (block.Deflated, block.Id);
                command.ExecuteNonQuery();
            }
            command.Parameters.Clear();
            command.CommandText = """
                CREATE TRIGGER event_blocks_no_update BEFORE UPDATE ON event_blocks
                    BEGIN SELECT RAISE(ABORT, 'raw events are append-only'); END;
                DROP VIEW raw_events;
                CREATE VIEW raw_events AS
                    SELECT b.first_seq + CAST(j.key AS INTEGER)      AS seq,
                           json_extract(j.value, '$.event_id')        AS event_id,
                           json_extract(j.value, '$.event_type')      AS event_type,
                           json_extract(j.value, '$.timestamp')       AS timestamp,
                           json_extract(j.value, '$.received_at')     AS received_at,
                           b.source_system                            AS source_system,
                           j.value                                    AS event
                    FROM event_blocks b,
                         json_each(CASE b.encoding WHEN 'deflate' THEN atalaya_inflate(b.events) ELSE CAST(b.events AS TEXT) END) j;
                PRAGMA user_version = 4;
                """;
            command.ExecuteNonQuery();
            DropWhatSchema4DidNotHave(connection, transaction);
            transaction.Commit();
        }
        File.Delete(Hub.SnapshotPath(directory));
        File.Delete(EventLog.IndexSnapshotPath(directory));
    }

    /// <summary>
    /// Every table, index, trigger and column that later migrations added, dropped, by comparison with
    /// a database built by migrations 1–4 alone: a new migration needs no line here.
    /// </summary>
    private static void DropWhatSchema4DidNotHave(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction transaction)
    {
        using var reference = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        reference.Open();
        Migrations.Apply(reference, upTo: 4);
        var (oldObjects, oldColumns) = Schema(reference, null);
        var (objects, columns) = Schema(connection, transaction);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // Triggers, indexes and views first: a column they name cannot be dropped.
        foreach (var (type, name) in objects.Where(o => !oldObjects.Contains(o)).OrderBy(o => o.Type == "table" ? 1 : 0))
        {
            command.CommandText = $"DROP {type.ToUpperInvariant()} IF EXISTS \"{name}\";";
            command.ExecuteNonQuery();
        }
        foreach (var (table, column) in columns.Where(c => !oldColumns.Contains(c) && oldObjects.Contains(("table", c.Table))))
        {
            command.CommandText = $"ALTER TABLE \"{table}\" DROP COLUMN \"{column}\";";
            command.ExecuteNonQuery();
        }
    }

    private static (HashSet<(string Type, string Name)> Objects, HashSet<(string Table, string Column)> Columns) Schema(
        Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction? transaction)
    {
        var objects = new HashSet<(string, string)>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND type IN ('table', 'index', 'trigger', 'view');";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                objects.Add((reader.GetString(0), reader.GetString(1)));
            }
        }
        var columns = new HashSet<(string, string)>();
        foreach (var (_, table) in objects.Where(o => o.Item1 == "table"))
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"SELECT name FROM pragma_table_info('{table}');";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                columns.Add((table, reader.GetString(0)));
            }
        }
        return (objects, columns);
    }

    private static List<string> Encodings(string directory) =>
        StoredEvents.Query(directory, "SELECT DISTINCT encoding FROM event_blocks ORDER BY encoding;");

    private static List<string> RawEvents(string directory) =>
        StoredEvents.Query(directory, "SELECT seq || ' ' || event FROM raw_events ORDER BY seq;");

    private static byte[] DemoNdjson()
    {
        using var ndjson = new MemoryStream();
        DemoGenerator.WriteNdjson(new DemoOptions(Days: 3, Seed: 5, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 40), ndjson);
        return ndjson.ToArray();
    }

    /// <summary>Every KPI, daily, by country and by store: the figures a restart must not change.</summary>
    private static List<string> Answers(Hub hub)
    {
        var answers = new List<string>();
        foreach (var groupBy in new[] { Array.Empty<Dimension>(), [Dimension.Country], [Dimension.StoreId] })
        {
            var query = new EngineQuery.KpiQuery(Enum.GetValues<KpiId>(), new DateOnly(2026, 2, 28), new DateOnly(2026, 3, 3),
                EngineQuery.Aggregate.Daily, TimeZoneInfo.Utc, EngineQuery.DimensionFilter.None, groupBy, AccessScope.Everything, int.MaxValue);
            answers.AddRange(hub.Kpis.Query(query).Rows.Select(r =>
                $"{r.Period}|{r.Metric}|{string.Join(",", r.Group)}|{(r.Value is { } v ? Math.Round(v, 6).ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "null")}"));
        }
        Assert.NotEmpty(answers);
        return answers;
    }

    private static byte[] Input(int events)
    {
        if (events < 0)
        {
            var random = new byte[3 << 20];
            new Random(7).NextBytes(random);
            return random;
        }
        var json = new StringBuilder("[");
        for (var i = 0; i < events; i++)
        {
            json.Append(i == 0 ? "" : ",").Append(Events.Valid("page_view", $"codec-{i}").ToJsonString());
        }
        return Encoding.UTF8.GetBytes(json.Append(']').ToString());
    }
}
