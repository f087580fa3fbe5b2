using System.Buffers.Binary;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Audit;

/// <summary>
/// The tamper-evident audit log. Entries are appended to <c>audit_log</c> with a SHA-256 hash over
/// the previous entry's hash and this entry's fields, so changing, deleting or reordering any row
/// breaks the chain at that row (<see cref="Verify()"/>). Appends go through one writer that commits
/// queued entries together, in the order they were queued; the chain head is read inside the write
/// transaction, so the server and the CLI can both append to one data folder, and on a cluster
/// every node to the one chain in PostgreSQL (<see cref="IAuditRows"/>: only the rows differ).
/// <para>
/// Two kinds of append (docs/access.md, "Audit of reads"): <see cref="AppendAsync"/> completes once
/// the entry is committed (administrative changes and refused reads, answered only after that);
/// <see cref="AppendLater"/> queues a served read's entry, committed within <see cref="ReadWindow"/>
/// of being queued together with every other entry queued meanwhile, so reads do not each wait for
/// an fsync. A crash loses at most the read entries of that window. A failed commit (a full disk,
/// PostgreSQL away) fails the waiting callers and keeps the read entries for the next attempt, one
/// window later.
/// </para>
/// </summary>
public sealed class AuditLog : IAsyncDisposable
{
    private static readonly byte[] Genesis = new byte[32];

    /// <summary>The longest a served read's entry waits before it is committed.</summary>
    public static readonly TimeSpan DefaultReadWindow = TimeSpan.FromMilliseconds(200);

    /// <summary>Read entries kept while commits fail (a full disk); past it the oldest are dropped and counted.</summary>
    public const int MaxPendingReads = 100_000;

    private readonly IAuditRows _rows;
    private readonly TimeProvider _time;
    private readonly Channel<(AuditEntry? Entry, TaskCompletionSource? Done)> _queue =
        Channel.CreateUnbounded<(AuditEntry?, TaskCompletionSource?)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private long _committed;
    private long _droppedReads;
    private long _failedCommits;

    public AuditLog(HubDatabase database, TimeProvider? time = null, TimeSpan? readWindow = null)
        : this(new SqliteAuditRows(database), time, readWindow)
    {
    }

    /// <summary>The cluster's one audit chain in PostgreSQL; its appends and reads throw <see cref="StateUnavailableException"/> while it is away.</summary>
    public AuditLog(PostgresState state, TimeProvider? time = null, TimeSpan? readWindow = null)
        : this(new PostgresAuditRows(state), time, readWindow)
    {
    }

    internal AuditLog(IAuditRows rows, TimeProvider? time, TimeSpan? readWindow)
    {
        _rows = rows;
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

    /// <summary>Appends entries in one transaction now, beside the writer (both read the head inside their transaction).</summary>
    public void AppendNow(params AuditEntry[] entries) => Write(_rows, entries);

    /// <summary>Appends entries in one transaction now (CLI use, no writer thread needed).</summary>
    public static void AppendNow(HubDatabase database, params AuditEntry[] entries) => Write(new SqliteAuditRows(database), entries);

    /// <summary>Appends entries to the cluster's chain now (CLI use with <c>--postgres</c>).</summary>
    public static void AppendNow(PostgresState state, params AuditEntry[] entries) => Write(new PostgresAuditRows(state), entries);

    private async Task WriteLoopAsync()
    {
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
            Commit(pending);
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

    private void Commit(List<(AuditEntry? Entry, TaskCompletionSource? Done)> pending)
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
                Write(_rows, entries);
            }
            Interlocked.Add(ref _committed, entries.Length);
            pending.ForEach(b => b.Done?.TrySetResult());
            pending.Clear();
        }
        catch (Exception e) when (e is DbException or IOException or StateUnavailableException or PostgresStateException)
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

    /// <summary>Chains <paramref name="entries"/> after the head the rows hold, inside their write transaction.</summary>
    private static void Write(IAuditRows rows, AuditEntry[] entries) => rows.Append(head =>
    {
        var seq = head?.Seq ?? 0;
        var previous = head?.Hash ?? Genesis;
        var records = new AuditRecord[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            seq++;
            var hash = Hash(seq, entries[i], previous);
            records[i] = new AuditRecord(seq, entries[i], previous, hash);
            previous = hash;
        }
        return records;
    });

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
    public AuditVerification Verify() => Verify(_rows);

    /// <summary><see cref="Verify()"/> on a data folder's database.</summary>
    public static AuditVerification Verify(SqliteConnection connection) => Verify(new SqliteAuditRows(connection));

    /// <summary><see cref="Verify()"/> on a cluster's chain in PostgreSQL.</summary>
    public static AuditVerification Verify(PostgresState state) => Verify(new PostgresAuditRows(state));

    private static AuditVerification Verify(IAuditRows rows)
    {
        var previous = Genesis;
        long expected = 1, checkedCount = 0;
        AuditVerification? broken = null;
        rows.Walk(record =>
        {
            checkedCount++;
            if (record.Seq != expected)
            {
                broken = new AuditVerification(checkedCount, record.Seq,
                    $"entry {record.Seq} follows entry {expected - 1}: entries are missing or out of order");
            }
            else if (!record.PreviousHash.AsSpan().SequenceEqual(previous))
            {
                broken = new AuditVerification(checkedCount, record.Seq, $"entry {record.Seq} does not link to the entry before it");
            }
            else if (!Hash(record.Seq, record.Entry, previous).AsSpan().SequenceEqual(record.Hash))
            {
                broken = new AuditVerification(checkedCount, record.Seq, $"entry {record.Seq} was changed after it was written");
            }
            previous = record.Hash;
            expected++;
            return broken is null;
        });
        return broken ?? new AuditVerification(checkedCount, null, null);
    }

    /// <summary>Entries matching the filters, newest first.</summary>
    public IReadOnlyList<AuditRecord> Query(string? actor, string? action, DateTimeOffset? from, DateTimeOffset? to, int limit) =>
        _rows.Query(new AuditFilter(actor, action, from, to, limit));

    /// <summary>Entries of a data folder's database matching the filters, newest first.</summary>
    public static IReadOnlyList<AuditRecord> Query(SqliteConnection connection, string? actor, string? action, DateTimeOffset? from, DateTimeOffset? to, int limit) =>
        new SqliteAuditRows(connection).Query(new AuditFilter(actor, action, from, to, limit));

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }
}
