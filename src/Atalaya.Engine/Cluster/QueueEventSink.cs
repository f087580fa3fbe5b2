using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Queue;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// A collector's sink on a cluster (docs/scale-out.md): a request's validated events are published
/// to the shard queues of their event_ids, one message per shard holding the stored events as
/// NDJSON (several when they pass <see cref="ArrivalLine.MessageBytes"/>), and the append completes only once RabbitMQ confirmed every message, so an acknowledged
/// event is on the quorum queue's disk. The writers insert them into ClickHouse exactly once.
///
/// Duplicates: an event_id seen twice in the request counts once; ids ClickHouse already holds
/// (<c>event_ids</c>) are answered as duplicates and not published, one lookup a request. That
/// lookup is a courtesy, not the guarantee: when ClickHouse is slow or down the events are published
/// anyway (collectors depend on RabbitMQ alone), and a retry that arrives while its first copy is
/// still queued is answered as accepted; the writer's exact dedupe counts it once either way.
/// </summary>
/// <remarks>
/// Refused events are quarantined before the accepted ones are published, bounded per request and
/// per source as on the embedded hub: with <paramref name="shared"/> (a node started with
/// <c>--postgres</c>) in the cluster's PostgreSQL, else in the node's own log (<paramref name="local"/>:
/// its <c>failed_events</c>). A refused event is answered as refused whether or not its row could be
/// written: while PostgreSQL is away the rows are lost and counted (<see cref="QuarantineRowsLost"/>),
/// and the request is still answered, its accepted events published. The local log's store
/// directory is the one orders are enriched from.
/// </remarks>
internal sealed class QueueEventSink(EventPublisher publisher, ClickHouseClient clickHouse, IEventSink local, TimeSpan? lookupTimeout = null,
    SharedQuarantine? shared = null) : IEventSink
{
    public const string SourceHeader = "x-atalaya-source";

    public StoreDirectory Stores => local.Stores;

    /// <summary>The events go to RabbitMQ as NDJSON lines: no block to compress (9 % of a collecting node's busy time when it was).</summary>
    public bool StoresCompressedBlocks => false;

    private readonly TimeSpan _lookupTimeout = lookupTimeout ?? TimeSpan.FromMilliseconds(500);

    /// <summary>Requests whose id lookup failed or timed out, so their duplicates were left to the writers.</summary>
    public long LookupsSkipped => Interlocked.Read(ref _lookupsSkipped);

    private long _lookupsSkipped;

    /// <summary>Rejected events that would have been stored whole in PostgreSQL's quarantine but could not be (it was away).</summary>
    public long QuarantineRowsLost => Interlocked.Read(ref _quarantineRowsLost);

    private long _quarantineRowsLost;

    public async Task<AppendOutcome> AppendAsync(AppendBatch batch)
    {
        if (batch.Rejected.Count > 0)
        {
            await QuarantineAsync(batch).ConfigureAwait(false);
        }
        if (batch.EventCount == 0)
        {
            return new AppendOutcome(0, 0);
        }
        var (ids, first) = ReadIds(batch);
        var known = await KnownAsync(ids, first).ConfigureAwait(false);
        var (bodies, accepted) = Split(batch, ids, first, known);
        try
        {
            var headers = new Dictionary<string, object?> { [SourceHeader] = batch.SourceSystem };
            var publishes = new List<Task>(bodies.Length);
            for (var shard = 0; shard < bodies.Length; shard++)
            {
                if (bodies[shard] is { } body)
                {
                    foreach (var part in ArrivalLine.Parts(body.WrittenMemory))
                    {
                        publishes.Add(publisher.PublishAsync(shard, part, headers, CancellationToken.None));
                    }
                }
            }
            // Every publish has finished, confirmed or failed, before the bodies go back to the pool.
            await Task.WhenAll(publishes).ConfigureAwait(false);
        }
        catch (QueueUnavailableException e)
        {
            // Some shards may have been confirmed: the client retries the whole request (503), and
            // the writers count the events published twice once.
            throw new StoreUnavailableException($"The event queue is unavailable: {e.Message}", e);
        }
        finally
        {
            foreach (var body in bodies)
            {
                body?.Dispose();
            }
        }
        RememberStores(batch);
        return new AppendOutcome(accepted, batch.EventCount - accepted);
    }

    /// <summary>The request's refused events, into the cluster's quarantine in PostgreSQL or the node's own failed_events.</summary>
    private async Task QuarantineAsync(AppendBatch batch)
    {
        if (shared is not null)
        {
            try
            {
                await Task.Run(() => shared.Write(batch)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is Postgres.StateUnavailableException or System.Data.Common.DbException)
            {
                // The events are refused either way and the answer lists each with its reasons; only
                // their stored copies are lost. Counted, so an operator sees it (docs/collector.md).
                Interlocked.Add(ref _quarantineRowsLost, batch.KeptRejections);
            }
            return;
        }
        using var rejected = new AppendBatch(batch.SourceSystem, batch.ReceivedAtMs) { QuarantinePerRequest = batch.QuarantinePerRequest };
        foreach (var r in batch.Rejected)
        {
            rejected.AddRejected(r);
        }
        await local.AppendAsync(rejected).ConfigureAwait(false);
    }

    /// <summary>Each event's id, and whether it is the first of its id in the request.</summary>
    private static (string[] Ids, bool[] First) ReadIds(AppendBatch batch)
    {
        var events = batch.Events;
        var ids = new string[events.Length];
        var first = new bool[events.Length];
        var seen = new HashSet<UInt128>();
        for (var i = 0; i < events.Length; i++)
        {
            ids[i] = StoredEventIds.Read(batch.Json(events[i]));
            first[i] = seen.Add(events[i].IdHash);
        }
        return (ids, first);
    }

    /// <summary>
    /// The NDJSON message of each shard (null when no event goes there), and how many events they
    /// hold. Pooled: a collecting node's profile showed the fresh megabyte arrays of every request as
    /// page faults and zeroing (no change in its throughput could be told from this machine's
    /// spread, docs/benchmarks.md, "Ingest on a collecting cluster node").
    /// </summary>
    private (PooledBufferWriter?[] Bodies, int Events) Split(AppendBatch batch, string[] ids, bool[] first, HashSet<string> known)
    {
        var events = batch.Events;
        var shards = publisher.Topology.Shards;
        var bodies = new PooledBufferWriter?[shards];
        var count = 0;
        for (var i = 0; i < events.Length; i++)
        {
            if (!first[i] || known.Contains(ids[i]))
            {
                continue;
            }
            var body = bodies[EventQueueTopology.ShardOf(ids[i], shards)] ??= new PooledBufferWriter(batch.WrittenCount / shards + 1024);
            ArrivalLine.Write(body, i, batch.Json(events[i]));
            count++;
        }
        return (bodies, count);
    }

    /// <summary>Stores created by the request enrich the orders of later requests on this node.</summary>
    private void RememberStores(AppendBatch batch)
    {
        foreach (var e in batch.Events)
        {
            if (e.Store is { } store)
            {
                local.Stores.Set(store);
            }
        }
    }

    /// <summary>The request's ids that ClickHouse already holds; none when it cannot say in time.</summary>
    private async Task<HashSet<string>> KnownAsync(string[] ids, bool[] first)
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        using var timeout = new CancellationTokenSource(_lookupTimeout);
        try
        {
            // The ids go with the query as an external table (no SQL literals to parse), as the writer's check does.
            var batchIds = new ExternalTable("batch_ids", "event_id String", ids.Where((_, i) => first[i]).Select(TabSeparated.Escape));
            await foreach (var row in clickHouse.QueryAsync($"SELECT event_id FROM {EventsSchema.EventIds} WHERE event_id IN batch_ids", batchIds, timeout.Token).ConfigureAwait(false))
            {
                known.Add(row[0]!);
            }
        }
        catch (Exception e) when (e is ClickHouseUnavailableException or ClickHouseException or OperationCanceledException)
        {
            Interlocked.Increment(ref _lookupsSkipped);
            known.Clear();
        }
        return known;
    }
}
