using System.Buffers;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Storage;

/// <summary>
/// One stored block, decoded: its first sequence number, its event count and its events as a UTF-8
/// JSON array. Read with pooled buffers, <see cref="Json"/> lies in <see cref="Rented"/>, which
/// <see cref="Release"/> hands back once the block is read.
/// </summary>
internal readonly record struct StoredBlock(long FirstSeq, long Count, ReadOnlyMemory<byte> Json, byte[]? Rented = null)
{
    public void Release()
    {
        if (Rented is not null)
        {
            ArrayPool<byte>.Shared.Return(Rented);
        }
    }
}

/// <summary>
/// Reads the raw event blocks stored after a sequence number, in order, each decoded by its own
/// codec: how every reader that catches up from a watermark (the KPI engine at start-up, the
/// data-quality profile) walks the event log.
/// </summary>
internal static class StoredBlocks
{
    /// <summary>How many events are stored after <paramref name="afterSeq"/> (for progress bars).</summary>
    public static long CountAfter(SqliteConnection connection, long afterSeq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(sum(event_count), 0) FROM event_blocks WHERE first_seq > $after;";
        command.Parameters.AddWithValue("$after", afterSeq);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>The query of <see cref="After"/>: in log order through the index on first_seq (no sort of the blocks' blobs).</summary>
    internal const string AfterSql = "SELECT first_seq, event_count, encoding, events FROM event_blocks WHERE first_seq > $after ORDER BY first_seq;";

    /// <summary>
    /// The blocks stored after <paramref name="afterSeq"/>, oldest first. With <paramref name="pooled"/>
    /// each block's JSON is decoded into a buffer rented from the shared pool, which the reader
    /// returns with <see cref="StoredBlock.Release"/>: a replay of many blocks then reuses a few
    /// buffers rather than touching fresh memory for each (a block is megabytes, and first touches
    /// of memory were most of the decoding's cost at start-up).
    /// </summary>
    public static IEnumerable<StoredBlock> After(SqliteConnection connection, long afterSeq, bool pooled = false)
    {
        using var command = connection.CreateCommand();
        command.CommandText = AfterSql;
        command.Parameters.AddWithValue("$after", afterSeq);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (pooled)
            {
                var (buffer, length) = BlockCodec.DecodePooled(reader.GetString(2), (byte[])reader.GetValue(3));
                yield return new StoredBlock(reader.GetInt64(0), reader.GetInt64(1), buffer.AsMemory(0, length), buffer);
            }
            else
            {
                yield return new StoredBlock(reader.GetInt64(0), reader.GetInt64(1), BlockCodec.Decode(reader.GetString(2), (byte[])reader.GetValue(3)));
            }
        }
    }
}
