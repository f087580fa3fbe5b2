using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Queue;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// A writer on a cluster (docs/scale-out.md): consumes the shard queues and inserts their events
/// into ClickHouse exactly once (<see cref="ClickHouseEventWriter"/>), acknowledging a batch of
/// messages only after the insert. Each shard queue has a single active consumer, so one writer at
/// a time owns a shard's ids, which the exact dedupe relies on; a second writer node stands by and
/// takes over when the first goes away.
///
/// While ClickHouse is unreachable the writer keeps its batch and retries (growing pauses up to
/// <see cref="MaxPause"/>) rather than giving the messages back: given back, they would be counted
/// as failed deliveries and dead-lettered after a few, though nothing is wrong with them. The
/// queue holds everything else meanwhile, and the writer catches up when ClickHouse returns.
/// A message holding an event that cannot be a row is dead-lettered with the reason after its
/// other events were inserted. Each shard has its own consumer, so the shards' batches are mapped
/// and inserted side by side (one shard's ids still have one writer).
///
/// After each insert the writer publishes the inserted events to the written-events exchange
/// (<see cref="EventPublisher.PublishWrittenAsync"/>), which every node's <see cref="ClusterFeed"/>
/// applies to its KPI projection. That publish is not retried into a redelivery (the redelivered
/// events would be found stored and not published either): a missed one is counted in
/// <see cref="FeedMisses"/> and a node's projection repairs itself by reloading (docs/scale-out.md).
/// </summary>
internal sealed class ClusterWriter : IAsyncDisposable
{
    public static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(5);

    private readonly ClickHouseEventWriter _writer;
    private readonly TimeProvider _time;
    private readonly List<EventConsumer> _consumers = [];
    private readonly EventPublisher? _feed;
    private long _inserted;
    private long _feedMisses;
    private long _duplicates;
    private long _waits;

    private ClusterWriter(ClickHouseClient clickHouse, EventPublisher? feed, TimeProvider time)
    {
        _writer = new ClickHouseEventWriter(clickHouse);
        _feed = feed;
        _time = time;
    }

    /// <summary>Inserted batches whose publish to the written-events exchange failed (the nodes' projections miss them until they reload).</summary>
    public long FeedMisses => Interlocked.Read(ref _feedMisses);

    /// <summary>Events inserted so far by this writer.</summary>
    public long Inserted => Interlocked.Read(ref _inserted);

    /// <summary>Events this writer found already stored (redeliveries, retries sent twice).</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Inserts that failed because ClickHouse was unreachable, and were retried.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Starts consuming every shard of <paramref name="queue"/>.</summary>
    /// <exception cref="QueueUnavailableException">RabbitMQ cannot be reached.</exception>
    /// <param name="feed">Where inserted events are published for the nodes' KPI projections; null publishes nothing.</param>
    public static async Task<ClusterWriter> StartAsync(EventQueueOptions queue, ClickHouseClient clickHouse, EventPublisher? feed = null, TimeProvider? time = null, CancellationToken ct = default)
    {
        var writer = new ClusterWriter(clickHouse, feed, time ?? TimeProvider.System);
        try
        {
            for (var shard = 0; shard < queue.Shards; shard++)
            {
                writer._consumers.Add(await EventConsumer.StartAsync(queue, [shard], writer.HandleAsync, time, ct).ConfigureAwait(false));
            }
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return writer;
    }

    private async Task HandleAsync(IReadOnlyList<QueuedMessage> batch, CancellationToken ct)
    {
        var events = new List<ReadOnlyMemory<byte>>();
        var arrivals = new List<long>();
        var messageOf = new List<int>();
        for (var m = 0; m < batch.Count; m++)
        {
            foreach (var line in ArrivalLine.Lines(batch[m].Body))
            {
                var (arrival, storedEvent) = ArrivalLine.Read(line);
                events.Add(storedEvent);
                arrivals.Add(arrival);
                messageOf.Add(m);
            }
        }
        var result = await InsertAsync(events, arrivals, ct).ConfigureAwait(false);
        Interlocked.Add(ref _inserted, result.Inserted);
        Interlocked.Add(ref _duplicates, result.Duplicates);
        await PublishWrittenAsync(result.Written, ct).ConfigureAwait(false);
        foreach (var bad in result.Unmappable.GroupBy(u => messageOf[u.Index]))
        {
            batch[bad.Key].MarkPoison($"{bad.Count()} event(s) cannot be stored in ClickHouse: " + string.Join("; ", bad.Take(3).Select(u => u.Reason)));
        }
    }

    private async Task<EventWriteResult> InsertAsync(List<ReadOnlyMemory<byte>> events, List<long> arrivals, CancellationToken ct)
    {
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await _writer.InsertAsync(events, arrivals, ct).ConfigureAwait(false);
            }
            catch (ClickHouseUnavailableException)
            {
                Interlocked.Increment(ref _waits);
                await Task.Delay(pause, _time, ct).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxPause.Ticks));
            }
        }
    }

    private async Task PublishWrittenAsync(IReadOnlyList<EventRow> written, CancellationToken ct)
    {
        if (_feed is null || written.Count == 0)
        {
            return;
        }
        // Pooled, as a collector's messages are: a fresh array of the batch's size showed in the
        // node's profile as page faults and zeroing on every insert.
        using var body = new PooledBufferWriter(written.Sum(r => r.Payload.Length + 22));
        foreach (var row in written)
        {
            ArrivalLine.Write(body, row.Arrival, row.Payload.Span);
        }
        try
        {
            // In parts: a batch's rows can pass the broker's max_message_size (a refused publish
            // closes the channel), and a node's feed holds a number of messages, not of bytes. The
            // parts may arrive in any order, as other shards' batches do: the feed orders what it
            // applies (ClusterFeed.Hold).
            await Task.WhenAll(ArrivalLine.Parts(body.WrittenMemory).Select(part => _feed.PublishWrittenAsync(part, ct))).ConfigureAwait(false);
        }
        catch (QueueUnavailableException)
        {
            Interlocked.Increment(ref _feedMisses);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var consumer in _consumers)
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
