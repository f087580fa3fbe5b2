using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Atalaya.Engine.Storage;

/// <summary>
/// The event log's one hot statement, <c>INSERT INTO event_blocks</c>, prepared once on the log's
/// connection through SQLite's own API. Microsoft.Data.Sqlite binds a blob only as a whole
/// <see cref="byte"/> array, so a pooled buffer longer than its content was copied into a new array
/// of the exact length before every insert: the compressed events and their id hashes of each
/// request, about 1 MB of large-object garbage a request that kept the server's full collections
/// coming every two seconds under steady ingest. Here the blobs are bound from spans (SQLite copies
/// them itself). It runs inside whatever transaction the connection has open.
/// </summary>
internal sealed class BlockInsert : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;

    public BlockInsert(SqliteConnection connection)
    {
        _connection = connection;
        var rc = raw.sqlite3_prepare_v2(connection.Handle ?? throw new InvalidOperationException("Open the connection first."), """
            INSERT INTO event_blocks (first_seq, event_count, received_at, min_timestamp, max_timestamp, source_system, id_hashes, events, encoding)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9);
            """, out _statement);
        SqliteException.ThrowExceptionForRC(rc, connection.Handle);
    }

    public void Execute(long firstSeq, int count, long receivedAtMs, long minTs, long maxTs, string sourceSystem,
        ReadOnlySpan<byte> idHashes, ReadOnlySpan<byte> events, string encoding)
    {
        var db = _connection.Handle ?? throw new InvalidOperationException("The event log's connection is closed.");
        try
        {
            Check(raw.sqlite3_bind_int64(_statement, 1, firstSeq), db);
            Check(raw.sqlite3_bind_int64(_statement, 2, count), db);
            Check(raw.sqlite3_bind_int64(_statement, 3, receivedAtMs), db);
            Check(raw.sqlite3_bind_int64(_statement, 4, minTs), db);
            Check(raw.sqlite3_bind_int64(_statement, 5, maxTs), db);
            Check(raw.sqlite3_bind_text(_statement, 6, sourceSystem), db);
            Check(raw.sqlite3_bind_blob(_statement, 7, idHashes), db);
            Check(raw.sqlite3_bind_blob(_statement, 8, events), db);
            Check(raw.sqlite3_bind_text(_statement, 9, encoding), db);
            var rc = raw.sqlite3_step(_statement);
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
                throw new SqliteException($"SQLite answered {rc} to the block insert.", rc);
            }
        }
        finally
        {
            raw.sqlite3_reset(_statement);
            raw.sqlite3_clear_bindings(_statement);
        }
    }

    private static void Check(int rc, sqlite3 db) => SqliteException.ThrowExceptionForRC(rc, db);

    public void Dispose() => _statement.Dispose();
}
