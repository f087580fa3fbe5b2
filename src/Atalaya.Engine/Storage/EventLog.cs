using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Storage;

/// <summary>
/// The durable, append-only event log with group commit. Requests hand in <see cref="AppendBatch"/>es;
/// one writer drains whatever is queued, checks every event_id against the <see cref="EventIdIndex"/>,
/// appends the new events and the quarantined ones in a single transaction, commits (fsync), and only
/// then completes the callers. So a completed append is durable, concurrent requests share one fsync,
/// and a duplicate is reported only once the original is durable. If the commit fails, the index is
/// rolled back and every caller in the group gets <see cref="StoreUnavailableException"/>.
/// </summary>
public sealed class EventLog : IAsyncDisposable, IEventSink
{
    private const int MaxGroup = 256;

    private readonly SqliteConnection _connection;
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly EventIdIndex _index;
    private readonly string _snapshotPath;
    private readonly Task _writer;
    private readonly BlockInsert _insertBlock;
    private readonly SqliteCommand _insertFailed;
    private readonly SqliteCommand _upsertStore;
    private readonly SqliteCommand _insertOverflow;
    // Quarantined rows stored per source in the current clock hour (writer thread only).
    private readonly Dictionary<string, int> _quarantinedThisHour = new(StringComparer.Ordinal);
    private long _quarantineHour = -1;
    private long _nextSeq;
    private long _eventCount;
    // The writer's scratch, reused by every commit: the ids a commit added (to take back if it
    // fails) run to thousands per batch, a large-object-heap array each time if allocated.
    private readonly List<UInt128> _added = [];

    private EventLog(HubDatabase database, StoreDirectory stores)
    {
        Stores = stores;
        _connection = database.Connect();
        _snapshotPath = IndexSnapshotPath(database.DataDirectory);
        (_index, _nextSeq) = LoadIndex(_connection, _snapshotPath);
        _eventCount = _index.Count;
        Stores.Load(_connection);

        _insertBlock = new BlockInsert(_connection);

        _insertFailed = _connection.CreateCommand();
        _insertFailed.CommandText = """
            INSERT INTO failed_events (received_at, source_system, request_index, event_id, reason, errors, payload)
            VALUES ($received, $source, $index, $event_id, $reason, $errors, $payload);
            """;
        foreach (var name in new[] { "$received", "$source", "$index", "$event_id", "$reason", "$errors", "$payload" })
        {
            _insertFailed.Parameters.Add(new SqliteParameter(name, null));
        }

        _upsertStore = _connection.CreateCommand();
        _upsertStore.CommandText = """
            INSERT INTO stores (store_id, store_name, country, hub, zone, category, created_at)
            VALUES ($id, $name, $country, $hub, $zone, $category, $created)
            ON CONFLICT (store_id) DO UPDATE SET store_name = excluded.store_name, country = excluded.country,
                hub = excluded.hub, zone = excluded.zone, category = excluded.category;
            """;
        foreach (var name in new[] { "$id", "$name", "$country", "$hub", "$zone", "$category", "$created" })
        {
            _upsertStore.Parameters.Add(new SqliteParameter(name, null));
        }

        _insertOverflow = _connection.CreateCommand();
        _insertOverflow.CommandText = """
            INSERT INTO quarantine_overflow (received_at, source_system, rejected, kept)
            VALUES ($received, $source, $rejected, $kept);
            """;
        foreach (var name in new[] { "$received", "$source", "$rejected", "$kept" })
        {
            _insertOverflow.Parameters.Add(new SqliteParameter(name, null));
        }

        _writer = Task.Factory.StartNew(WriteLoop, CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    public StoreDirectory Stores { get; }

    /// <summary>
    /// Rejected events stored whole per source and clock hour (see <see cref="Collect.IngestOptions"/>):
    /// past it a source's rejections are only counted, in <c>quarantine_overflow</c>.
    /// </summary>
    public int QuarantinePerSourcePerHour { get; set; } = Collect.IngestOptions.DefaultQuarantinePerSourcePerHour;

    /// <summary>
    /// Called on the writer thread after each commit, before any caller is acknowledged, with the
    /// events that were stored (duplicates left out). Readers of the log (the KPI projection) use
    /// it to see every durable event exactly once, in storage order. It must not throw.
    /// </summary>
    internal EventsCommitted? Committed { get; set; }

    /// <summary>Events stored (after dedupe).</summary>
    public long EventCount => Interlocked.Read(ref _eventCount);

    public static EventLog Open(HubDatabase database, StoreDirectory? stores = null) => new(database, stores ?? new StoreDirectory());

    /// <summary>
    /// Appends the batch; completes once it is durable. Not cancellable: once queued, the writer
    /// reads the batch's buffer, so the caller must not release the batch before this completes.
    /// </summary>
    internal Task<AppendOutcome> AppendAsync(AppendBatch batch) => Append(batch);

    Task<AppendOutcome> IEventSink.AppendAsync(AppendBatch batch) => Append(batch);

    private Task<AppendOutcome> Append(AppendBatch batch)
    {
        var pending = new PendingAppend(batch);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new StoreUnavailableException("The event log is closed.", null);
        }
        return pending.Completion.Task;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the writer's thread with the writer's connection, between two
    /// group commits: no append is committed (and no commit reaches <see cref="Committed"/>) while it
    /// runs. An erasure uses it to rewrite blocks and re-key the projection at one cut in the log.
    /// Keep it short: appends queue behind it.
    /// </summary>
    internal Task RunExclusiveAsync(Action<SqliteConnection> work)
    {
        var pending = new PendingAppend(null!) { Work = work };
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new StoreUnavailableException("The event log is closed.", null);
        }
        return pending.Completion.Task;
    }

    private void RunWork(PendingAppend pending)
    {
        try
        {
            pending.Work!(_connection);
            pending.Completion.TrySetResult(default);
        }
        catch (Exception e)
        {
            pending.Completion.TrySetException(e);
        }
    }

    /// <summary>
    /// The dedupe index: its snapshot plus the ids of the blocks stored after it, or every block's
    /// ids. Either way it must hold exactly as many ids as there are stored events; a snapshot that
    /// disagrees is dropped and the index rebuilt from all blocks.
    /// </summary>
    private static (EventIdIndex Index, long NextSeq) LoadIndex(SqliteConnection connection, string snapshotPath)
    {
        using var command = connection.CreateCommand();
        // Blocks the retention job dropped keep their ids (retired_blocks): a retry of a dropped
        // event is still a duplicate.
        command.CommandText = """
            SELECT coalesce(sum(event_count), 0), coalesce(max(first_seq + event_count), 1)
            FROM (SELECT first_seq, event_count FROM event_blocks UNION ALL SELECT first_seq, event_count FROM retired_blocks);
            """;
        long events, nextSeq;
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            events = reader.GetInt64(0);
            nextSeq = reader.GetInt64(1);
        }
        if (EventIdIndex.TryLoad(snapshotPath) is { } snapshot && snapshot.NextSeq <= nextSeq)
        {
            AddBlockIds(connection, snapshot.Index, snapshot.NextSeq);
            if (snapshot.Index.Count == events)
            {
                return (snapshot.Index, nextSeq);
            }
        }
        var index = new EventIdIndex((int)Math.Min(int.MaxValue, events + 1024));
        AddBlockIds(connection, index, 0);
        return (index, nextSeq);
    }

    private static void AddBlockIds(SqliteConnection connection, EventIdIndex index, long fromSeq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id_hashes FROM event_blocks WHERE first_seq >= $from UNION ALL SELECT id_hashes FROM retired_blocks WHERE first_seq >= $from;";
        command.Parameters.AddWithValue("$from", fromSeq);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            using var stream = reader.GetStream(0);
            var length = (int)stream.Length;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            stream.ReadExactly(buffer, 0, length);
            index.AddPacked(buffer.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Where the dedupe index's snapshot lives: a cache beside the database.</summary>
    public static string IndexSnapshotPath(string dataDirectory) => Path.Combine(dataDirectory, "event-ids.bin");

    private async Task WriteLoop()
    {
        var group = new List<PendingAppend>(MaxGroup);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            while (group.Count < MaxGroup && reader.TryPeek(out var next) && next.Work is null && reader.TryRead(out var pending))
            {
                group.Add(pending);
            }
            if (group.Count > 0)
            {
                Commit(group);
            }
            else if (reader.TryRead(out var work))
            {
                RunWork(work);
            }
        }
    }

    private void Commit(List<PendingAppend> group)
    {
        var added = _added;
        added.Clear();
        var outcomes = new AppendOutcome[group.Count];
        var storesTouched = new List<StoreDimension>();
        var committed = new List<CommittedBatch>(group.Count);
        var seqBefore = _nextSeq;
        long newEvents = 0;
        try
        {
            using var transaction = _connection.BeginTransaction(deferred: false);
            _insertFailed.Transaction = transaction;
            _insertOverflow.Transaction = transaction;
            _upsertStore.Transaction = transaction;
            for (var i = 0; i < group.Count; i++)
            {
                var batch = group[i].Batch;
                var firstSeq = _nextSeq;
                var (accepted, duplicates, kept) = WriteBatch(batch, added, storesTouched);
                if (accepted > 0)
                {
                    committed.Add(new CommittedBatch(batch, kept!, firstSeq));
                }
                outcomes[i] = new AppendOutcome(accepted, duplicates);
                newEvents += accepted;
            }
            transaction.Commit();
        }
        catch (Exception exception) when (exception is SqliteException or IOException or InvalidOperationException)
        {
            foreach (var hash in added)
            {
                _index.Remove(hash);
            }
            _nextSeq = seqBefore;
            var failure = new StoreUnavailableException(Describe(exception), exception);
            foreach (var pending in group)
            {
                pending.Completion.TrySetException(failure);
            }
            return;
        }

        Interlocked.Add(ref _eventCount, newEvents);
        foreach (var store in storesTouched)
        {
            Stores.Set(store);
        }
        if (committed.Count > 0)
        {
            Committed?.Invoke(committed);
        }
        for (var i = 0; i < group.Count; i++)
        {
            group[i].Completion.TrySetResult(outcomes[i]);
        }
    }

    /// <summary>
    /// The request's first rejected events (as many as its per-request bound and its source's
    /// hourly budget allow) go to <c>failed_events</c> whole; the rest only to a count.
    /// </summary>
    private void WriteRejected(AppendBatch batch)
    {
        var rejected = batch.Rejected;
        if (rejected.Count == 0)
        {
            return;
        }
        var hour = batch.ReceivedAtMs / 3_600_000;
        if (hour != _quarantineHour)
        {
            _quarantineHour = hour;
            _quarantinedThisHour.Clear();
        }
        var used = _quarantinedThisHour.GetValueOrDefault(batch.SourceSystem);
        var keep = batch.QuarantineKeep(QuarantinePerSourcePerHour, used);
        for (var i = 0; i < keep; i++)
        {
            var r = rejected[i];
            SetParameters(_insertFailed, batch.ReceivedAtMs, batch.SourceSystem, r.RequestIndex,
                r.EventId, r.Reason, JsonSerializer.Serialize(r.Errors, EngineJson.Relaxed.IReadOnlyListString), r.Payload);
            _insertFailed.ExecuteNonQuery();
        }
        _quarantinedThisHour[batch.SourceSystem] = used + keep;
        if (keep < rejected.Count)
        {
            SetParameters(_insertOverflow, batch.ReceivedAtMs, batch.SourceSystem, rejected.Count, keep);
            _insertOverflow.ExecuteNonQuery();
        }
    }

    private (int Accepted, int Duplicates, bool[]? Kept) WriteBatch(AppendBatch batch, List<UInt128> added, List<StoreDimension> storesTouched)
    {
        WriteRejected(batch);

        var events = batch.Events;
        if (events.Length == 0)
        {
            return (0, 0, null);
        }
        // Dedupe first: the common case (no duplicate) stores the batch's buffer as it is.
        var keep = new bool[events.Length];
        var accepted = 0;
        long min = long.MaxValue, max = long.MinValue;
        var ids = ArrayPool<byte>.Shared.Rent(events.Length * 16);
        byte[]? rebuilt = null;
        (byte[] Buffer, int Length)? rebuiltCompressed = null;
        try
        {
            for (var i = 0; i < events.Length; i++)
            {
                var e = events[i];
                if (!_index.Add(e.IdHash))
                {
                    continue;
                }
                keep[i] = true;
                added.Add(e.IdHash);
                EventIdIndex.WriteHash(e.IdHash, ids.AsSpan(accepted * 16, 16));
                accepted++;
                min = Math.Min(min, e.TimestampMs);
                max = Math.Max(max, e.TimestampMs);
                if (e.Store is { } store)
                {
                    storesTouched.Add(store);
                    SetParameters(_upsertStore, store.StoreId, store.StoreName, store.Country, store.Hub,
                        store.Zone, store.Category, store.CreatedAtMs);
                    _upsertStore.ExecuteNonQuery();
                }
            }
            var duplicates = events.Length - accepted;
            if (accepted == 0)
            {
                return (0, duplicates, null);
            }

            byte[] json;
            int jsonLength;
            if (duplicates == 0)
            {
                (json, jsonLength) = batch.Compressed();
            }
            else
            {
                // Leave the duplicates out: rebuild the array from the kept events and compress it.
                rebuilt = ArrayPool<byte>.Shared.Rent(batch.WrittenCount + 2);
                var length = 0;
                rebuilt[length++] = (byte)'[';
                for (var i = 0; i < events.Length; i++)
                {
                    if (!keep[i])
                    {
                        continue;
                    }
                    if (length > 1)
                    {
                        rebuilt[length++] = (byte)',';
                    }
                    batch.Json(events[i]).CopyTo(rebuilt.AsSpan(length));
                    length += events[i].Length;
                }
                rebuilt[length++] = (byte)']';
                rebuiltCompressed = BlockCodec.Compress(rebuilt.AsSpan(0, length));
                (json, jsonLength) = rebuiltCompressed.Value;
            }

            _insertBlock.Execute(_nextSeq, accepted, batch.ReceivedAtMs, min, max, batch.SourceSystem,
                ids.AsSpan(0, accepted * 16), json.AsSpan(0, jsonLength), BlockCodec.Current);
            _nextSeq += accepted;
            return (accepted, duplicates, keep);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ids);
            if (rebuilt is not null)
            {
                ArrayPool<byte>.Shared.Return(rebuilt);
            }
            if (rebuiltCompressed is { } compressed)
            {
                BlockCodec.Release(compressed.Buffer);
            }
        }
    }

    private static void SetParameters(SqliteCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    private static string Describe(Exception exception) => exception switch
    {
        SqliteException { SqliteErrorCode: 13 } => "the disk or the database is full",
        SqliteException { SqliteErrorCode: 5 or 6 } => "the database is locked by another process",
        SqliteException { SqliteErrorCode: 10 } => "a disk I/O error occurred",
        _ => exception.Message,
    };

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        // The writer has stopped: the index and the next sequence number agree.
        try
        {
            _index.Save(_snapshotPath, _nextSeq);
        }
        catch (IOException)
        {
            // Only a cache: the next start rebuilds it from the blocks. A half-written temporary
            // file (a full disk) would only hold on to space.
            File.Delete(_snapshotPath + ".tmp");
        }
        _insertBlock.Dispose();
        _insertFailed.Dispose();
        _upsertStore.Dispose();
        _insertOverflow.Dispose();
        _connection.Dispose();
    }

    private sealed class PendingAppend(AppendBatch batch)
    {
        public AppendBatch Batch { get; } = batch;

        /// <summary>Set instead of a batch: work to run between commits (<see cref="RunExclusiveAsync"/>).</summary>
        public Action<SqliteConnection>? Work { get; init; }

        public TaskCompletionSource<AppendOutcome> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Receives the batches of one commit (see <see cref="EventLog.Committed"/>).</summary>
internal delegate void EventsCommitted(IReadOnlyList<CommittedBatch> batches);

/// <summary>A committed batch: which of its events were stored (the rest were duplicates) and the first one's sequence number.</summary>
internal readonly record struct CommittedBatch(AppendBatch Batch, bool[] Kept, long FirstSeq);

/// <summary>The store cannot make events durable right now (disk full, I/O error); retry later.</summary>
public sealed class StoreUnavailableException(string message, Exception? inner) : Exception(message, inner);
