using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Queue;
using Atalaya.Engine.Recommendations;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// Keeps a cluster node's KPI projection (and its recommendation model) equal to ClickHouse's <c>events</c> (docs/scale-out.md,
/// "Answers on every node"): the node answers KPI and analysis questions with the same engine as
/// the embedded hub, over every event the cluster stored, whichever node collected it.
///
/// The projection is loaded once from ClickHouse and then follows the written-events exchange, to
/// which every writer publishes the events it inserted. The hand-over has no gap and no overlap:
/// 1. bind this node's own queue to the exchange and keep what arrives (not applied yet);
/// 2. take a moment T, the second after ClickHouse's clock, and wait until ClickHouse's clock is
///    <see cref="Settle"/> past it, so that every insert stamped before T has finished;
/// 3. read the rows with <c>inserted_at &lt; T</c> (each month's in the order they were received:
///    received_at, then the position in their request, <see cref="ArrivalLine"/>);
///    remember the ids of those stamped in the minute before T;
/// 4. apply what the queue kept and everything after it, skipping the remembered ids. A row stamped
///    before T was inserted before its writer published it; its message arrived either before the
///    queue was bound (then it is not in the queue) or after (then its id was remembered, unless it
///    was inserted more than a minute before T, which a writer publishing right after its insert
///    does not do). A row stamped at T or later was inserted after the queue was bound, so its
///    message is in the queue.
///
/// What this does not cover: a writer whose publish failed (RabbitMQ away between its insert and
/// its publish) and a node whose own connection dropped lose those events until the node restarts;
/// <see cref="CheckLagAsync"/> measures the difference against ClickHouse for <c>/metrics</c>.
/// </summary>
internal sealed class ClusterFeed : IAsyncDisposable
{
    /// <summary>How long past the hand-over moment the load waits for inserts stamped before it to finish.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    // The ids of rows stamped this long before the hand-over are kept to skip their feed messages.
    private const int RecentSeconds = 60;

    // Events a block applied under one write lock: a reader waits for at most one block.
    private const int BlockEvents = 2_000;

    // Feed messages the broker hands this node before it acknowledges any (each at most
    // ArrivalLine.MessageBytes): what the node has not read yet stays on the broker, so a node that
    // applies slower than the writers write (or is still loading) does not grow without bound.
    private const ushort Prefetch = 64;

    // Events read from the feed and waiting out their Hold: past this the node stops reading the feed
    // until some are applied (at 60,000 events/s about 200,000 wait their second).
    private const int MaxPending = 250_000;

    private readonly ClickHouseClient _clickHouse;
    private readonly KpiEngine _kpis;
    private readonly RecommendationModel? _recommendations;
    private readonly Channel<FeedMessage> _inbox = Channel.CreateUnbounded<FeedMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _rekeyed = new(StringComparer.Ordinal);
    private long _rekeyConflicts;
    private IConnection? _connection;
    private IChannel? _channel;
    private HashSet<string> _recent = new(StringComparer.Ordinal);
    private long _recentUntil;
    private long _applied;
    private long _skipped;
    private long _lag;
    private volatile bool _loaded;

    private ClusterFeed(ClickHouseClient clickHouse, KpiEngine kpis, RecommendationModel? recommendations)
    {
        _clickHouse = clickHouse;
        _kpis = kpis;
        _recommendations = recommendations;
    }

    /// <summary>True once the projection holds every event ClickHouse held at the hand-over.</summary>
    public bool Loaded => _loaded;

    /// <summary>Events applied to the projection, from ClickHouse and from the feed.</summary>
    public long Applied => Interlocked.Read(ref _applied);

    /// <summary>Feed events skipped because the load had applied them.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>
    /// Re-keyings (<see cref="RekeyMessage"/>) that found both an old id and its pseudonym in the
    /// projection: a load that read some of the person's rows before an erasure rewrote them and some
    /// after. The node then loads again (<see cref="ClusterNode"/>), since two dense ids cannot be merged.
    /// </summary>
    public long RekeyConflicts => Interlocked.Read(ref _rekeyConflicts);

    /// <summary>Whether this feed has applied the re-keying of that erasure.</summary>
    public bool Rekeyed(string erasureId) => _rekeyed.ContainsKey(erasureId);

    /// <summary>The broker's name of this node's feed queue (server-named, exclusive), for diagnostics and tests.</summary>
    public string? QueueName { get; private set; }

    /// <summary>Events ClickHouse held at the last <see cref="CheckLagAsync"/> beyond those this projection applied.</summary>
    public long Lag => Interlocked.Read(ref _lag);

    /// <summary>Binds this node's queue to the written-events exchange (step 1); messages are kept (on the broker, past <see cref="Prefetch"/>) until <see cref="LoadAsync"/> ran.</summary>
    /// <exception cref="QueueUnavailableException">RabbitMQ cannot be reached.</exception>
    /// <param name="recommendations">The storefront's model, fed the same events (null: none).</param>
    public static async Task<ClusterFeed> SubscribeAsync(EventQueueOptions queue, ClickHouseClient clickHouse, KpiEngine kpis, RecommendationModel? recommendations, CancellationToken ct)
    {
        var feed = new ClusterFeed(clickHouse, kpis, recommendations);
        try
        {
            feed._connection = await queue.ConnectionFactory().CreateConnectionAsync(ct).ConfigureAwait(false);
            feed._channel = await feed._connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
            var topology = new EventQueueTopology(queue);
            await topology.DeclareAsync(feed._channel, ct).ConfigureAwait(false);
            // Server-named, exclusive and auto-deleted: the queue lives as long as this node's connection.
            var declared = await feed._channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: ct).ConfigureAwait(false);
            feed.QueueName = declared.QueueName;
            await feed._channel.QueueBindAsync(declared.QueueName, topology.WrittenExchange, routingKey: "", cancellationToken: ct).ConfigureAwait(false);
            var receiver = new AsyncEventingBasicConsumer(feed._channel);
            receiver.ReceivedAsync += (_, delivery) =>
            {
                var rekey = delivery.BasicProperties.Headers?.ContainsKey(RekeyMessage.Header) == true;
                feed._inbox.Writer.TryWrite(new FeedMessage(delivery.Body.ToArray(), rekey, delivery.DeliveryTag));
                return Task.CompletedTask;
            };
            // Acknowledged once read (FollowAsync), not on delivery: the prefetch is the node's bound.
            await feed._channel.BasicQosAsync(prefetchSize: 0, Prefetch, global: false, ct).ConfigureAwait(false);
            await feed._channel.BasicConsumeAsync(declared.QueueName, autoAck: false, receiver, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (EventPublisher.IsBrokerFailure(e))
        {
            await feed.DisposeAsync().ConfigureAwait(false);
            throw QueueUnavailableException.OnConnect(queue.Endpoint, e);
        }
        return feed;
    }

    /// <summary>
    /// Loads every event ClickHouse holds into <paramref name="kpis"/> once, following nothing after:
    /// for a command that recomputes closed days from the cluster's events (<c>atalaya backfill
    /// --clickhouse</c>). Returns the events loaded.
    /// </summary>
    public static async Task<long> LoadOnceAsync(ClickHouseClient clickHouse, KpiEngine kpis, Action<long>? progress, CancellationToken ct)
    {
        await using var feed = new ClusterFeed(clickHouse, kpis, recommendations: null);
        await feed.LoadAsync(progress, ct).ConfigureAwait(false);
        return feed.Applied;
    }

    /// <summary>Steps 2 and 3: loads every row ClickHouse stamped before the hand-over moment into the projection.</summary>
    /// <param name="progress">Told the events loaded so far after each block.</param>
    public async Task LoadAsync(Action<long>? progress, CancellationToken ct)
    {
        var handOver = await _clickHouse.ScalarInt64Async("SELECT toUInt32(now()) + 1", ct).ConfigureAwait(false);
        while (await _clickHouse.ScalarInt64Async("SELECT toUInt32(now())", ct).ConfigureAwait(false) < handOver + (long)Settle.TotalSeconds)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
        }
        var before = $"inserted_at < toDateTime({handOver})";
        var recentSince = handOver - RecentSeconds;
        var recent = new HashSet<string>(StringComparer.Ordinal);
        var block = new BlockBuilder();
        // The stores first, all of them in the order they were received: the latest received
        // store_created of a store decides its dimensions (a re-creation may be dated in an earlier
        // month than the first), and the projection gives every event its store's dimensions
        // whenever the store arrives. Then every other event, month by month, each month in the
        // order received (a month's rows fit a query's sort; the whole table might not). Not day
        // by day: the table is sorted by event type first, so a day's query reads a granule of
        // every type around it, about 25 times its rows (0.33 s a day against 0.93 s a month at 1M).
        var wheres = new List<string> { $"event_type = 'store_created' AND {before}" };
        await foreach (var row in _clickHouse.QueryAsync($"SELECT DISTINCT toYYYYMM(ts) AS month FROM {EventsSchema.Events} WHERE {before} ORDER BY month", ct).ConfigureAwait(false))
        {
            wheres.Add($"toYYYYMM(ts) = {row[0]} AND event_type != 'store_created' AND {before}");
        }
        await ReadAsync(wheres, recentSince, recent, block, progress, ct).ConfigureAwait(false);
        Apply(block);
        _recent = recent;
        // Messages older than this were all kept before the load ended; later ones need no check.
        _recentUntil = Environment.TickCount64 + 2 * RecentSeconds * 1000;
        _loaded = true;
    }

    /// <summary>
    /// Applies the rows of each condition in turn, each in the order received. The next condition's
    /// query is sent before this one's rows are applied: ClickHouse sorts it (a core) while this
    /// node applies (the other), and holds its answer until it is read (the connection's window
    /// is the only buffer), instead of each waiting for the other.
    /// </summary>
    private async Task ReadAsync(IReadOnlyList<string> wheres, long recentSince, HashSet<string> recent, BlockBuilder block, Action<long>? progress, CancellationToken ct)
    {
        (IAsyncEnumerator<string?[]> Rows, Task<bool> First) Start(string where)
        {
            var rows = _clickHouse.QueryAsync(
                $"SELECT event_id, inserted_at >= toDateTime({recentSince}), payload FROM {EventsSchema.Events} " +
                $"WHERE {where} ORDER BY received_at, received_ms, arrival, ts, ts_ms, event_id", ct).GetAsyncEnumerator(ct);
            return (rows, rows.MoveNextAsync().AsTask());
        }

        (IAsyncEnumerator<string?[]> Rows, Task<bool> First)? next = wheres.Count > 0 ? Start(wheres[0]) : null;
        try
        {
            for (var i = 0; next is { } current; i++)
            {
                next = null;
                await using (current.Rows.ConfigureAwait(false))
                {
                    var more = await current.First.ConfigureAwait(false);
                    next = i + 1 < wheres.Count ? Start(wheres[i + 1]) : null;
                    for (; more; more = await current.Rows.MoveNextAsync().ConfigureAwait(false))
                    {
                        var row = current.Rows.Current;
                        if (row[1] == "1")
                        {
                            recent.Add(row[0]!);
                        }
                        block.Add(Encoding.UTF8.GetBytes(row[2]!));
                        if (block.Count >= BlockEvents)
                        {
                            Apply(block);
                            progress?.Invoke(Applied);
                        }
                    }
                }
            }
        }
        finally
        {
            // A load that failed half-way: the query sent ahead is ended too (after its first read, as an iterator must not be disposed mid-read).
            if (next is { } ahead)
            {
                try
                {
                    await ahead.First.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The load's own failure is what the caller hears.
                }
                await ahead.Rows.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Step 4: applies the feed's messages, kept and new, until cancelled. Each event waits
    /// <see cref="Hold"/> on the node, and those due are applied in the order they were received
    /// (received_at, then their position in their request): one request's events reach the node
    /// through several writers, one per shard, in any order, and events that tie on time and
    /// subject (two stock snapshots of a product at one instant) must keep the embedded hub's order.
    /// </summary>
    public async Task FollowAsync(CancellationToken ct)
    {
        // In the order read, which is the order due: the oldest leave from the front.
        var pending = new Queue<Pending>();
        var ready = new List<Pending>();
        var block = new BlockBuilder();
        while (true)
        {
            var now = Environment.TickCount64;
            if (pending.Count == 0)
            {
                if (!await _inbox.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
            else
            {
                var wait = pending.Peek().Due - now;
                if (wait > 0 && pending.Count >= MaxPending)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), ct).ConfigureAwait(false);
                }
                else if (wait > 0)
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(TimeSpan.FromMilliseconds(wait));
                    try
                    {
                        await _inbox.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        // the first pending event is due
                    }
                }
            }
            if (_recent.Count > 0 && Environment.TickCount64 > _recentUntil)
            {
                _recent = new HashSet<string>(StringComparer.Ordinal);
            }
            var due = Environment.TickCount64 + (long)Hold.TotalMilliseconds;
            // A re-keying stops the reading: the events before it are applied first (all of them,
            // due or not), then it, and the events after it wait for the next turn.
            RekeyMessage? rekey = null;
            ulong lastRead = 0;
            while (rekey is null && pending.Count < MaxPending && _inbox.Reader.TryRead(out var message))
            {
                lastRead = message.DeliveryTag;
                if (message.Rekey)
                {
                    rekey = RekeyMessage.Parse(message.Body);
                    continue;
                }
                foreach (var line in ArrivalLine.Lines(message.Body))
                {
                    var (arrival, storedEvent) = ArrivalLine.Read(line);
                    var (id, receivedMs) = Keys(storedEvent, readId: _recent.Count > 0);
                    if (_recent.Count > 0 && id is not null && _recent.Contains(id))
                    {
                        Interlocked.Increment(ref _skipped);
                        continue;
                    }
                    pending.Enqueue(new Pending(receivedMs, arrival, due, storedEvent));
                }
            }
            if (lastRead > 0)
            {
                await AcknowledgeAsync(lastRead).ConfigureAwait(false);
            }
            now = Environment.TickCount64;
            ready.Clear();
            while (pending.TryPeek(out var first) && (rekey is not null || first.Due <= now))
            {
                ready.Add(pending.Dequeue());
            }
            if (ready.Count == 0)
            {
                if (rekey is not null)
                {
                    ApplyRekey(rekey);
                }
                continue;
            }
            foreach (var p in ready.OrderBy(p => p.ReceivedMs).ThenBy(p => p.Arrival))
            {
                block.Add(p.StoredEvent.Span);
                if (block.Count >= BlockEvents)
                {
                    Apply(block);
                }
            }
            Apply(block);
            if (rekey is not null)
            {
                ApplyRekey(rekey);
            }
        }
    }

    /// <summary>Acknowledges every feed message up to <paramref name="deliveryTag"/>, so the broker hands over the next ones.</summary>
    private async Task AcknowledgeAsync(ulong deliveryTag)
    {
        try
        {
            await _channel!.BasicAckAsync(deliveryTag, multiple: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (EventPublisher.IsBrokerFailure(e))
        {
            // The connection broke: the exclusive queue went with it (CheckLagAsync sees what is
            // missed), and a recovered channel ignores tags from before the break.
        }
    }

    /// <summary>
    /// An erasure's re-keying (<see cref="RekeyMessage"/>), as the embedded hub's erasure does it
    /// (<c>PersonErasure.Rekey</c>): each old id's dense id goes to its pseudonym, so every figure
    /// stays; the recommendation model forgets the person.
    /// </summary>
    private void ApplyRekey(RekeyMessage message)
    {
        var projection = _kpis.Projection;
        using (projection.Write())
        {
            foreach (var (id, pseudonym) in message.Pseudonyms)
            {
                if (!projection.Pools.Users.Rekey(id, pseudonym) && projection.Pools.Users.Find(id) > 0)
                {
                    Interlocked.Increment(ref _rekeyConflicts);
                }
            }
        }
        projection.Published();
        foreach (var id in message.UserIds)
        {
            _recommendations?.ForgetPerson(id, null);
        }
        foreach (var id in message.AnonymousIds)
        {
            _recommendations?.ForgetPerson(null, id);
        }
        _rekeyed.TryAdd(message.ErasureId, true);
    }

    /// <summary>A message of the written-events exchange: stored events (<see cref="ArrivalLine"/>s), or a <see cref="RekeyMessage"/>.</summary>
    private readonly record struct FeedMessage(byte[] Body, bool Rekey, ulong DeliveryTag);

    /// <summary>How long an event from the feed waits on the node, so that its request's other events (on other shards) can join it.</summary>
    public static readonly TimeSpan Hold = TimeSpan.FromSeconds(1);

    private readonly record struct Pending(long ReceivedMs, long Arrival, long Due, ReadOnlyMemory<byte> StoredEvent);

    /// <summary>Compares the projection with ClickHouse's count of events stamped more than a few seconds ago (what the feed should have brought by now).</summary>
    public async Task CheckLagAsync(CancellationToken ct)
    {
        // Read the applied count first: events applied while ClickHouse counts only lower the lag.
        var applied = Applied;
        var stored = await _clickHouse.ScalarInt64Async($"SELECT count() FROM {EventsSchema.Events} WHERE inserted_at < now() - 10", ct).ConfigureAwait(false);
        Interlocked.Exchange(ref _lag, Math.Max(0, stored - applied));
    }

    private void Apply(BlockBuilder block)
    {
        if (block.Count == 0)
        {
            return;
        }
        _kpis.ApplyStored(block.Buffer, block.Events);
        _recommendations?.ApplyStored(block.Buffer, block.Events);
        Interlocked.Add(ref _applied, block.Count);
        block.Clear();
    }

    /// <summary>The top-level received_at (Unix milliseconds) of a stored event and, when <paramref name="readId"/>, its event_id, read without parsing the rest.</summary>
    private static (string? Id, long ReceivedMs) Keys(ReadOnlyMemory<byte> json, bool readId)
    {
        string? id = null;
        long receivedMs = 0;
        var reader = new Utf8JsonReader(json.Span);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return (null, 0);
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isId = readId && reader.ValueTextEquals("event_id"u8);
            var isReceived = !isId && reader.ValueTextEquals("received_at"u8);
            reader.Read();
            if (isId && reader.TokenType == JsonTokenType.String)
            {
                id = reader.GetString();
            }
            else if (isReceived && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var at))
            {
                receivedMs = at.ToUnixTimeMilliseconds();
            }
            else
            {
                reader.Skip();
            }
            if ((id is not null || !readId) && receivedMs != 0)
            {
                break;
            }
        }
        return (id, receivedMs);
    }

    /// <summary>Stored events gathered one after another in one buffer, with where each one is: the shape <see cref="KpiEngine.ApplyStored"/> reads.</summary>
    private sealed class BlockBuilder
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(1 << 20);
        private readonly List<Range> _events = [];

        public int Count => _events.Count;

        public ReadOnlySpan<byte> Buffer => _buffer.WrittenSpan;

        public IReadOnlyList<Range> Events => _events;

        public void Add(ReadOnlySpan<byte> storedEvent)
        {
            var start = _buffer.WrittenCount;
            _buffer.Write(storedEvent);
            _events.Add(start..(start + storedEvent.Length));
        }

        public void Clear()
        {
            _buffer.ResetWrittenCount();
            _events.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _inbox.Writer.TryComplete();
        if (_connection is not null)
        {
            try
            {
                await _connection.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (EventPublisher.IsBrokerFailure(e))
            {
                // already gone; the exclusive queue goes with the connection
            }
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        _channel?.Dispose();
    }
}
