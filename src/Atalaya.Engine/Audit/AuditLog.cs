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
/// queued entries together, in the order they were queued; the chain head is read inside the write
/// transaction, so the server and the CLI can both append to one data folder.
/// <para>
/// Two kinds of append (docs/access.md, "Audit of reads"): <see cref="AppendAsync"/> completes once
/// the entry is committed (administrative changes and refused reads, answered only after that);
/// <see cref="AppendLater"/> queues a served read's entry, committed within <see cref="ReadWindow"/>
/// of being queued together with every other entry queued meanwhile, so reads do not each wait for
/// an fsync. A crash loses at most the read entries of that window. A failed commit (a full disk)
/// fails the waiting callers and keeps the read entries for the next attempt, one window later.
/// </para>
/// </summary>
public sealed class AuditLog : IAsyncDisposable
{
    private static readonly byte[] Genesis = new byte[32];

    /// <summary>The longest a served read's entry waits before it is committed.</summary>
    public static readonly TimeSpan DefaultReadWindow = TimeSpan.FromMilliseconds(200);

    /// <summary>Read entries kept while commits fail (a full disk); past it the oldest are dropped and counted.</summary>
    public const int MaxPendingReads = 100_000;

    private readonly HubDatabase _database;
    private readonly TimeProvider _time;
    private readonly Channel<(AuditEntry? Entry, TaskCompletionSource? Done)> _queue =
        Channel.CreateUnbounded<(AuditEntry?, TaskCompletionSource?)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private long _committed;
    private long _droppedReads;
    private long _failedCommits;

    public AuditLog(HubDatabase database, TimeProvider? time = null, TimeSpan? readWindow = null)
    {
        _database = database;
        _time = time ?? TimeProvider.System;
        ReadWindow = readWindow ?? DefaultReadWindow;
        _writer = Task.Run(WriteLoopAsync);
    }

    public TimeSpan ReadWindow { get; }

    /// <summary>Entries committed by this instance so far (observable by tests and metrics).</summary>
    public long Committed => Interlocked.Read(ref _committed);

    /// <summary>Read entries dropped because commits kept failing while more than <see cref="MaxPendingReads"/> waited.</summary>
    public long DroppedReads => Interlocked.Read(ref _droppedReads);

    /// <summary>Commits that failed (each is retried for read entries).</summary>
    public long FailedCommits => Interlocked.Read(ref _failedCommits);

    /// <summary>Whether the writer holds served reads and waits for the window to end (tests observe it).</summary>
    public bool Gathering => _gathering;

    private volatile bool _gathering;

    /// <summary>The last commit failure, for the operator's log.</summary>
    public Exception? LastFailure { get; private set; }

    /// <summary>Appends an entry; completes once it is committed (with every entry queued before it).</summary>
    public Task AppendAsync(AuditEntry entry)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((entry, done)))
        {
            done.SetException(new InvalidOperationException("The audit log is closed."));
        }
        return done.Task;
    }

    /// <summary>Completes once every entry queued before it is committed (the audit API reads after it).</summary>
    public Task FlushAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((null, done)))
        {
            done.SetResult();
        }
        return done.Task;
    }

    /// <summary>Queues a served read's entry; it is committed within <see cref="ReadWindow"/>.</summary>
    public void AppendLater(AuditEntry entry) => _queue.Writer.TryWrite((entry, null));

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
        var pending = new List<(AuditEntry? Entry, TaskCompletionSource? Done)>();
        while (pending.Count > 0 || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            Drain(reader, pending);
            var open = true;
            if (!pending.Exists(p => p.Done is not null))
            {
                // Only served reads: gather whatever comes within the window, unless a waiting
                // caller (or the close) asks for a commit sooner.
                open = await GatherAsync(reader, pending).ConfigureAwait(false);
            }
            Commit(connection, pending);
            if (!open)
            {
                // Closing: one last attempt; what it could not write is lost with the process anyway.
                break;
            }
        }
    }

    /// <summary>Waits up to the read window for more entries; returns false once the queue is closed.</summary>
    private async Task<bool> GatherAsync(ChannelReader<(AuditEntry? Entry, TaskCompletionSource? Done)> reader, List<(AuditEntry? Entry, TaskCompletionSource? Done)> pending)
    {
        using var windowEnd = new CancellationTokenSource();
        var window = Task.Delay(ReadWindow, _time, windowEnd.Token);
        _gathering = true;
        try
        {
            return await GatherUntilAsync(window, windowEnd, reader, pending).ConfigureAwait(false);
        }
        finally
        {
            _gathering = false;
        }
    }

    private static async Task<bool> GatherUntilAsync(Task window, CancellationTokenSource windowEnd,
        ChannelReader<(AuditEntry? Entry, TaskCompletionSource? Done)> reader, List<(AuditEntry? Entry, TaskCompletionSource? Done)> pending)
    {
        while (true)
        {
            var more = reader.WaitToReadAsync().AsTask();
            if (await Task.WhenAny(window, more).ConfigureAwait(false) == window)
            {
                // Everything queued before the window ended goes with it.
                Drain(reader, pending);
                return true;
            }
            if (!await more.ConfigureAwait(false))
            {
                await windowEnd.CancelAsync().ConfigureAwait(false);
                return false;
            }
            Drain(reader, pending);
            if (pending.Exists(p => p.Done is not null))
            {
                await windowEnd.CancelAsync().ConfigureAwait(false);
                return true;
            }
        }
    }

    private static void Drain(ChannelReader<(AuditEntry? Entry, TaskCompletionSource? Done)> reader, List<(AuditEntry? Entry, TaskCompletionSource? Done)> pending)
    {
        while (reader.TryRead(out var item))
        {
            pending.Add(item);
        }
    }

    private void Commit(SqliteConnection connection, List<(AuditEntry? Entry, TaskCompletionSource? Done)> pending)
    {
        if (pending.Count == 0)
        {
            return;
        }
        try
        {
            var entries = pending.Where(b => b.Entry is not null).Select(b => b.Entry!).ToArray();
            if (entries.Length > 0)
            {
                Write(connection, entries);
            }
            Interlocked.Add(ref _committed, entries.Length);
            pending.ForEach(b => b.Done?.TrySetResult());
            pending.Clear();
        }
        catch (Exception e) when (e is SqliteException or IOException)
        {
            LastFailure = e;
            Interlocked.Increment(ref _failedCommits);
            pending.ForEach(b => b.Done?.TrySetException(e));
            pending.RemoveAll(b => b.Done is not null);
            if (pending.Count > MaxPendingReads)
            {
                var drop = pending.Count - MaxPendingReads;
                pending.RemoveRange(0, drop);
                Interlocked.Add(ref _droppedReads, drop);
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
