using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Audit;

/// <summary>
/// The tamper-evident audit log. Entries are appended to <c>audit_log</c> with a SHA-256 hash over
/// the previous entry's hash and this entry's fields, so changing, deleting or reordering any row
/// breaks the chain at that row (<see cref="Verify"/>). Appends go through one writer that commits
/// queued entries together and completes each caller after the commit; the chain head is read
/// inside the write transaction, so the server and the CLI can both append to one data folder.
/// </summary>
public sealed class AuditLog : IAsyncDisposable
{
    private static readonly byte[] Genesis = new byte[32];

    private readonly HubDatabase _database;
    private readonly Channel<(AuditEntry Entry, TaskCompletionSource Done)> _queue =
        Channel.CreateUnbounded<(AuditEntry, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public AuditLog(HubDatabase database)
    {
        _database = database;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Appends an entry; completes once it is committed.</summary>
    public Task AppendAsync(AuditEntry entry)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((entry, done)))
        {
            done.SetException(new InvalidOperationException("The audit log is closed."));
        }
        return done.Task;
    }

    /// <summary>Appends entries in one transaction now (CLI use, no writer thread needed).</summary>
    public static void AppendNow(HubDatabase database, params AuditEntry[] entries)
    {
        using var connection = database.Connect();
        Write(connection, entries);
    }

    private async Task WriteLoopAsync()
    {
        using var connection = _database.Connect();
        var reader = _queue.Reader;
        var batch = new List<(AuditEntry Entry, TaskCompletionSource Done)>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 512 && reader.TryRead(out var item))
            {
                batch.Add(item);
            }
            try
            {
                Write(connection, batch.Select(b => b.Entry).ToArray());
                batch.ForEach(b => b.Done.TrySetResult());
            }
            catch (Exception e) when (e is SqliteException or IOException)
            {
                batch.ForEach(b => b.Done.TrySetException(e));
            }
        }
    }

    private static void Write(SqliteConnection connection, AuditEntry[] entries)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        using var head = connection.CreateCommand();
        head.Transaction = transaction;
        head.CommandText = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;";
        long seq = 0;
        var previous = Genesis;
        using (var reader = head.ExecuteReader())
        {
            if (reader.Read())
            {
                seq = reader.GetInt64(0);
                previous = (byte[])reader.GetValue(1);
            }
        }
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO audit_log (seq, at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash)
            VALUES ($seq, $at, $actor, $role, $action, $params, $scope, $injected, $rows, $status, $prev, $hash);
            """;
        foreach (var entry in entries)
        {
            seq++;
            var hash = Hash(seq, entry, previous);
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$seq", seq);
            insert.Parameters.AddWithValue("$at", entry.At.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$actor", entry.Actor);
            insert.Parameters.AddWithValue("$role", entry.Role);
            insert.Parameters.AddWithValue("$action", entry.Action);
            insert.Parameters.AddWithValue("$params", entry.Params);
            insert.Parameters.AddWithValue("$scope", entry.Scope);
            insert.Parameters.AddWithValue("$injected", entry.Injected);
            insert.Parameters.AddWithValue("$rows", entry.Rows);
            insert.Parameters.AddWithValue("$status", entry.Status);
            insert.Parameters.AddWithValue("$prev", previous);
            insert.Parameters.AddWithValue("$hash", hash);
            insert.ExecuteNonQuery();
            previous = hash;
        }
        transaction.Commit();
    }

    /// <summary>SHA-256 over the previous hash and every field, each length-prefixed so no two entries encode alike.</summary>
    public static byte[] Hash(long seq, AuditEntry e, byte[] previous)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(previous);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, seq);
        hash.AppendData(number);
        BinaryPrimitives.WriteInt64BigEndian(number, e.At.ToUnixTimeMilliseconds());
        hash.AppendData(number);
        foreach (var text in new[] { e.Actor, e.Role, e.Action, e.Params, e.Scope, e.Injected })
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            BinaryPrimitives.WriteInt64BigEndian(number, bytes.Length);
            hash.AppendData(number);
            hash.AppendData(bytes);
        }
        BinaryPrimitives.WriteInt64BigEndian(number, ((long)e.Rows << 16) | (uint)(e.Status & 0xFFFF));
        hash.AppendData(number);
        return hash.GetHashAndReset();
    }

    /// <summary>
    /// Walks the chain in seq order: each row's seq must follow the previous one, its prev_hash
    /// must be the previous row's hash, and its hash must match its content. Reports the first
    /// row where any of these fails.
    /// </summary>
    public static AuditVerification Verify(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash FROM audit_log ORDER BY rowid;";
        using var reader = command.ExecuteReader();
        var previous = Genesis;
        long expected = 1, checkedCount = 0;
        while (reader.Read())
        {
            var record = ReadRecord(reader);
            checkedCount++;
            if (record.Seq != expected)
            {
                return new AuditVerification(checkedCount, record.Seq,
                    $"entry {record.Seq} follows entry {expected - 1}: entries are missing or out of order");
            }
            if (!record.PreviousHash.AsSpan().SequenceEqual(previous))
            {
                return new AuditVerification(checkedCount, record.Seq, $"entry {record.Seq} does not link to the entry before it");
            }
            if (!Hash(record.Seq, record.Entry, previous).AsSpan().SequenceEqual(record.Hash))
            {
                return new AuditVerification(checkedCount, record.Seq, $"entry {record.Seq} was changed after it was written");
            }
            previous = record.Hash;
            expected++;
        }
        return new AuditVerification(checkedCount, null, null);
    }

    /// <summary>Entries matching the filters, newest first.</summary>
    public static IReadOnlyList<AuditRecord> Query(SqliteConnection connection, string? actor, string? action, DateTimeOffset? from, DateTimeOffset? to, int limit)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT seq, at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash FROM audit_log
            WHERE ($actor IS NULL OR actor = $actor) AND ($action IS NULL OR action = $action)
              AND ($from IS NULL OR at >= $from) AND ($to IS NULL OR at < $to)
            ORDER BY seq DESC LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$actor", (object?)actor ?? DBNull.Value);
        command.Parameters.AddWithValue("$action", (object?)action ?? DBNull.Value);
        command.Parameters.AddWithValue("$from", (object?)from?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$to", (object?)to?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var records = new List<AuditRecord>();
        while (reader.Read())
        {
            records.Add(ReadRecord(reader));
        }
        return records;
    }

    private static AuditRecord ReadRecord(SqliteDataReader r) => new(
        r.GetInt64(0),
        new AuditEntry(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.GetString(3), r.GetString(4),
            r.GetString(5), r.GetString(6), r.GetString(7), r.GetInt32(8), r.GetInt32(9)),
        (byte[])r.GetValue(10), (byte[])r.GetValue(11));

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }
}
