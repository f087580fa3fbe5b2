using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Storage;

/// <summary>One stored block, decoded: its first sequence number, its event count and its events as a UTF-8 JSON array.</summary>
internal readonly record struct StoredBlock(long FirstSeq, long Count, byte[] Json);

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

    /// <summary>The blocks stored after <paramref name="afterSeq"/>, oldest first.</summary>
    public static IEnumerable<StoredBlock> After(SqliteConnection connection, long afterSeq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = AfterSql;
        command.Parameters.AddWithValue("$after", afterSeq);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return new StoredBlock(reader.GetInt64(0), reader.GetInt64(1), BlockCodec.Decode(reader.GetString(2), (byte[])reader.GetValue(3)));
        }
    }
}
