using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Privacy;

/// <summary>
/// The one sanctioned rewrite of raw event blocks, shared by the erasure and the personal-fields
/// retention job. In one transaction each block is read, handed to the caller's rewrite, and swapped
/// whole: the guard row of <c>privacy_erasures</c> names the block in <c>rewriting_block</c> (which
/// lets the append-only trigger pass exactly that block's events column), the block is updated and
/// the name cleared again. A crash leaves the old block or the new one, never a mix.
/// </summary>
internal static class BlockRewrite
{
    /// <summary>
    /// Rewrites <paramref name="blockIds"/>: <paramref name="rewrite"/> gets a block's JSON array and
    /// returns the new one with how many of its events changed (0 leaves the block as it is). Returns
    /// the blocks and the events changed, and how many of <paramref name="blockIds"/> it went through:
    /// all of them, or fewer when <paramref name="budget"/> ran out (always at least one), so that a
    /// caller on the writer's turn keeps each turn short.
    /// </summary>
    public static (int Blocks, long Events, int Visited) Run(SqliteConnection connection, string guardRow, IEnumerable<long> blockIds,
        Func<byte[], (byte[]? Json, int Changed)> rewrite, TimeSpan? budget = null)
    {
        var blocks = 0;
        long events = 0;
        var visited = 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var transaction = connection.BeginTransaction(deferred: false);
        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT encoding, events FROM event_blocks WHERE block_id = $id;";
        var readId = read.Parameters.Add("$id", SqliteType.Integer);
        using var write = connection.CreateCommand();
        write.Transaction = transaction;
        write.CommandText = """
            UPDATE privacy_erasures SET rewriting_block = $id WHERE erasure_id = $guard;
            UPDATE event_blocks SET events = $events, encoding = $encoding WHERE block_id = $id;
            UPDATE privacy_erasures SET rewriting_block = NULL WHERE erasure_id = $guard;
            """;
        var writeId = write.Parameters.Add("$id", SqliteType.Integer);
        var writeEvents = write.Parameters.Add("$events", SqliteType.Blob);
        write.Parameters.AddWithValue("$encoding", BlockCodec.Current);
        write.Parameters.AddWithValue("$guard", guardRow);
        foreach (var blockId in blockIds)
        {
            if (visited > 0 && budget is { } limit && System.Diagnostics.Stopwatch.GetElapsedTime(started) >= limit)
            {
                break;
            }
            visited++;
            readId.Value = blockId;
            byte[] json;
            using (var reader = read.ExecuteReader())
            {
                if (!reader.Read())
                {
                    continue; // dropped by the retention job meanwhile
                }
                json = BlockCodec.Decode(reader.GetString(0), (byte[])reader.GetValue(1));
            }
            var (rewritten, changed) = rewrite(json);
            if (rewritten is null || changed == 0)
            {
                continue;
            }
            var (buffer, length) = BlockCodec.Compress(rewritten);
            try
            {
                writeId.Value = blockId;
                writeEvents.Value = buffer.AsSpan(0, length).ToArray();
                write.ExecuteNonQuery();
            }
            finally
            {
                BlockCodec.Release(buffer);
            }
            blocks++;
            events += changed;
        }
        transaction.Commit();
        return (blocks, events, visited);
    }
}
