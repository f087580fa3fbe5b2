using System.Text.Json;
using System.Threading.Channels;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Recommendations;

/// <summary>
/// How the model keeps up with the event log. <see cref="Follow"/> hooks the commit callback
/// (after the KPI engine's) but stays dormant, so CLI commands that open a hub pay nothing.
/// <see cref="Start"/> (the server's loader) fixes a watermark W, the last stored sequence number,
/// in the same critical section that wakes the follower: from then on the follower takes the events
/// after W as they commit and the loader reads the stored blocks up to W, so every event is applied
/// exactly once. The writer thread only copies the events the model reads, with the facts the
/// collector noted for them (<see cref="CollectedFacts"/>), into one buffer per commit; a consumer
/// task applies them from those facts, without parsing them again, so acknowledgements never wait
/// for the model (it trails the log by the time of one apply; <see cref="FlushAsync"/> waits for
/// it). The history read at start-up has no facts: each stored event is read in one forward pass.
/// </summary>
public sealed partial class RecommendationModel
{
    private readonly Lock _feedGate = new();
    private long _watermark = long.MaxValue;
    private Channel<object>? _feed;
    private Task? _consumer;
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the stored history has been read (<see cref="Start"/>).</summary>
    public Task Loaded => _loaded.Task;

    public bool IsLoaded => _loaded.Task.IsCompletedSuccessfully;

    /// <summary>Stored events the model could not read (it never throws on the commit path).</summary>
    public long Unreadable { get; private set; }

    /// <summary>
    /// Events the model read from their stored JSON: the history at start-up and committed events
    /// that came without the collector's facts. Events of the single pass are applied from their facts.
    /// </summary>
    public long EventsReadFromJson { get; private set; }

    /// <summary>Hands every commit of <paramref name="log"/> to the model after the KPI engine's callback, once started.</summary>
    public void Follow(EventLog log)
    {
        var before = log.Committed;
        log.Committed = batches =>
        {
            before?.Invoke(batches);
            OnCommitted(batches);
        };
    }

    /// <summary>
    /// On the writer thread: copies the kept events after the watermark that the model reads, with
    /// the facts the collector noted for them, so that the consumer applies those without reading
    /// their JSON; events that came without facts (the document path, imports) are read from it.
    /// </summary>
    private void OnCommitted(IReadOnlyList<CommittedBatch> batches)
    {
        Channel<object>? feed;
        long watermark;
        lock (_feedGate)
        {
            (feed, watermark) = (_feed, _watermark);
        }
        if (feed is null)
        {
            return;
        }
        Chunk? chunk = null;
        foreach (var committed in batches)
        {
            var seq = committed.FirstSeq;
            var batch = committed.Batch;
            var events = batch.Events;
            var facts = batch.Facts;
            for (var i = 0; i < events.Length; i++)
            {
                if (!committed.Kept[i] || seq++ <= watermark)
                {
                    continue;
                }
                var json = batch.Json(events[i]);
                var noted = facts[i].CompleteForRecommendations;
                if (noted ? !RecommendationEvent.IsRead(facts[i], json) : !RecommendationEvent.IsRead(json))
                {
                    continue;
                }
                chunk ??= new Chunk();
                if (noted)
                {
                    chunk.Add(json, facts[i], batch.Items.Slice(facts[i].FirstItem, facts[i].ItemCount));
                }
                else
                {
                    chunk.Add(json);
                }
            }
        }
        if (chunk is not null && !feed.Writer.TryWrite(chunk))
        {
            chunk.Dispose();
        }
    }

    /// <summary>
    /// One commit's events for the model in pooled buffers: for those the collector noted, their
    /// facts (items re-based onto <see cref="Items"/>) and only the texts the model reads (a few
    /// dozen bytes, where the stored JSON is several hundred); for the others, their stored JSON.
    /// </summary>
    private sealed class Chunk : IDisposable
    {
        /// <summary>The noted events' texts and the other events' JSON, one after another.</summary>
        public RentedList<byte> Bytes { get; } = new();

        /// <summary>Each event's JSON in <see cref="Bytes"/>, or its facts' index in <see cref="Facts"/> (≥ 0: read from them).</summary>
        public RentedList<(int Offset, int Length, int Facts)> Events { get; } = new();

        public RentedList<CollectedFacts> Facts { get; } = new();

        public RentedList<CollectedItem> Items { get; } = new();

        public void Add(ReadOnlySpan<byte> json)
        {
            Events.Add((Bytes.Count, json.Length, -1));
            Bytes.AddRange(json);
        }

        public void Add(ReadOnlySpan<byte> json, CollectedFacts facts, ReadOnlySpan<CollectedItem> items)
        {
            facts.FirstItem = Items.Count;
            Items.AddRange(items);
            RecommendationEvent.CopyTexts(json, ref facts, Items, Bytes);
            Facts.Add(facts);
            Events.Add((0, 0, Facts.Count - 1));
        }

        public void Dispose()
        {
            Bytes.Dispose();
            Events.Dispose();
            Facts.Dispose();
            Items.Dispose();
        }
    }

    /// <summary>Events applied under one hold of the model's lock: a recommendation asked meanwhile waits for at most this many.</summary>
    private const int ApplySlice = 512;

    /// <summary>
    /// Applies the handed-over events on a thread of its own at the lower background priority
    /// (<see cref="Storage.BackgroundPriority"/>): the model can lag by a moment, a dashboard's read
    /// should not wait for the CPU it takes while collectors send as fast as they can (it was about
    /// 5 % of the hub's CPU under `bench mixed`, on the thread pool at normal priority). The lock is
    /// taken <see cref="ApplySlice"/> events at a time, so that a recommendation asked meanwhile
    /// does not wait behind a whole commit applied at the lower priority.
    /// </summary>
    private static Task StartConsumer(RecommendationModel model, ChannelReader<object> reader) =>
        Task.Factory.StartNew(() =>
        {
            Thread.CurrentThread.Name = "atalaya-recommend";
            model.ConsumerLowered = Storage.BackgroundPriority.TryLowerCurrentThread();
            // Waiting blocks this thread, which is its own (long-running): no pool thread is held.
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var item))
                {
                    model.Consume(item);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Whether the follower's thread runs at the lowered priority (false where the OS refused or has no such call).</summary>
    internal bool ConsumerLowered { get; private set; }

    private void Consume(object item)
    {
        if (item is Chunk chunk)
        {
            var events = chunk.Events.AsSpan();
            for (var start = 0; start < events.Length; start += ApplySlice)
            {
                lock (_gate)
                {
                    var items = chunk.Items.AsSpan();
                    var bytes = chunk.Bytes.AsSpan();
                    foreach (var (offset, length, facts) in events.Slice(start, Math.Min(ApplySlice, events.Length - start)))
                    {
                        if (facts < 0)
                        {
                            ApplySafely(bytes.Slice(offset, length));
                        }
                        else
                        {
                            var noted = chunk.Facts[facts];
                            ApplySafely(bytes, noted, items.Slice(noted.FirstItem, noted.ItemCount));
                        }
                    }
                }
            }
            chunk.Dispose();
        }
        else if (item is TaskCompletionSource flushed)
        {
            flushed.TrySetResult();
        }
    }

    /// <summary>Completes once every event committed before the call has been applied (immediately when the model is not started).</summary>
    public Task FlushAsync()
    {
        Channel<object>? feed;
        lock (_feedGate)
        {
            feed = _feed;
        }
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return feed is not null && feed.Writer.TryWrite(flushed) ? flushed.Task : Task.CompletedTask;
    }

    /// <summary>Stops following the log (the server's shutdown); what was handed over is applied first.</summary>
    public async Task StopAsync()
    {
        Channel<object>? feed;
        lock (_feedGate)
        {
            feed = _feed;
            _feed = null;
        }
        if (feed is not null)
        {
            feed.Writer.TryComplete();
            await _consumer!.ConfigureAwait(false);
        }
    }

    private void ApplySafely(ReadOnlySpan<byte> json)
    {
        try
        {
            EventsReadFromJson++;
            ApplyLocked(json);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            Unreadable++;
        }
    }

    /// <summary>Applies an event from the facts the collector noted; its JSON is not read.</summary>
    private void ApplySafely(ReadOnlySpan<byte> json, in CollectedFacts facts, ReadOnlySpan<CollectedItem> items)
    {
        try
        {
            ApplyLocked(json, facts, items);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // A lone surrogate escape in a noted string, as the reading path would meet it.
            Unreadable++;
        }
    }

    /// <summary>
    /// The history read of <see cref="Start"/>: in log order through the index on first_seq. The
    /// unary + keeps SQLite from taking the time index for the horizon instead, which would sort
    /// the matching blocks, blobs and all, before the first row.
    /// </summary>
    internal const string HistorySql = """
        SELECT encoding, events, event_count FROM event_blocks
        WHERE first_seq <= $watermark AND +max_timestamp >= $since ORDER BY first_seq;
        """;

    /// <summary>
    /// Wakes the follower and reads the stored history (the blocks whose newest event is within
    /// <paramref name="horizon"/> of the newest stored event). Returns the events read.
    /// </summary>
    public long Start(SqliteConnection connection, TimeSpan horizon, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        long watermark, newest;
        lock (_feedGate)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT coalesce(max(first_seq + event_count - 1), 0), coalesce(max(max_timestamp), 0) FROM event_blocks;";
            using (var reader = command.ExecuteReader())
            {
                reader.Read();
                watermark = reader.GetInt64(0);
                newest = reader.GetInt64(1);
            }
            lock (_gate)
            {
                // Live events interleave with the history while it loads: pruning by the newest
                // timestamp would close sessions whose later views are still to be read.
                _pruning = false;
            }
            _watermark = watermark;
            var feed = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
            _feed = feed;
            _consumer = StartConsumer(this, feed.Reader);
        }
        long read = 0;
        try
        {
            using var blocks = connection.CreateCommand();
            blocks.CommandText = HistorySql;
            blocks.Parameters.AddWithValue("$watermark", watermark);
            blocks.Parameters.AddWithValue("$since", newest - (long)horizon.TotalMilliseconds);
            using var reader = blocks.ExecuteReader();
            while (reader.Read())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var json = BlockCodec.Decode(reader.GetString(0), (byte[])reader.GetValue(1));
                lock (_gate)
                {
                    ApplyBlock(json);
                }
                read += reader.GetInt64(2);
            }
        }
        finally
        {
            lock (_gate)
            {
                _pruning = true;
                Prune();
            }
        }
        _loaded.TrySetResult();
        return read;
    }

    /// <summary>
    /// Forgets everything learned, for a cluster node that loads its model from ClickHouse again
    /// (a load that broke off, a feed that lost events): the same events are then applied anew.
    /// </summary>
    internal void ResetForReload()
    {
        lock (_gate)
        {
            _productIndex.Clear();
            _products.Clear();
            _productsByStore.Clear();
            _bought.Clear();
            _viewed.Clear();
            _sessions.Clear();
            _orders.Clear();
            _people.Clear();
            _clockMs = 0;
            _applied = 0;
        }
    }

    /// <summary>Applies stored events that did not come through the log (a cluster node's feed): each range of <paramref name="buffer"/> is one event's JSON.</summary>
    internal void ApplyStored(ReadOnlySpan<byte> buffer, IReadOnlyList<Range> events)
    {
        lock (_gate)
        {
            foreach (var range in events)
            {
                ApplySafely(buffer[range]);
            }
        }
    }

    /// <summary>Applies every event of a JSON array of events; the caller holds the lock.</summary>
    private void ApplyBlock(ReadOnlySpan<byte> array)
    {
        var reader = new Utf8JsonReader(array);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            ApplySafely(array[start..(int)reader.BytesConsumed]);
        }
    }

    /// <summary>A model built from events in hand (evaluation, benchmarks): no log, no watermark.</summary>
    public static RecommendationModel FromEvents(IEnumerable<byte[]> events)
    {
        var model = new RecommendationModel();
        model.ApplyAll(events);
        return model;
    }

    /// <summary>Applies events in hand, in order.</summary>
    public void ApplyAll(IEnumerable<byte[]> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        lock (_gate)
        {
            foreach (var json in events)
            {
                ApplySafely(json);
            }
        }
        _loaded.TrySetResult();
    }
}
