using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Queue;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// One <c>serve</c> process on a cluster (docs/scale-out.md): a collector whose requests' events go
/// to RabbitMQ (<see cref="QueueEventSink"/>) and a writer that inserts them into ClickHouse
/// (<see cref="ClusterWriter"/>; with several nodes, each shard's single active consumer is one of
/// them and the others stand by), and a reader answering from a KPI projection that follows the
/// cluster's writes (<see cref="ClusterFeed"/>); <see cref="Role"/> keeps one side only. Built from
/// the command line's URLs without connecting; <see
/// cref="RunAsync"/> connects and keeps retrying while a server is away.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(2);
    private ClusterWriter? _writer;
    private ClusterFeed? _feed;

    private ClusterNode(ClickHouseSettings clickHouse, EventQueueOptions queue, ClusterRole role)
    {
        Role = role;
        ClickHouseSettings = clickHouse;
        Queue = queue;
        ClickHouse = new ClickHouseClient(clickHouse);
        Publisher = new EventPublisher(queue);
    }

    internal ClickHouseSettings ClickHouseSettings { get; }

    /// <summary>What this node does: collect and write, answer, or both.</summary>
    public ClusterRole Role { get; }

    /// <summary>Whether this node takes events (collector) and consumes the shard queues (writer).</summary>
    public bool Collects => Role != ClusterRole.Answer;

    /// <summary>Whether this node holds a KPI projection and answers questions.</summary>
    public bool Answers => Role != ClusterRole.Collect;

    internal EventQueueOptions Queue { get; }

    internal ClickHouseClient ClickHouse { get; }

    internal EventPublisher Publisher { get; }

    /// <summary>What the node talks to, for the start-up log (no password).</summary>
    public string Describe => $"role {Role.Name()}, ClickHouse {ClickHouseSettings.Url} database {ClickHouseSettings.Database}, RabbitMQ {Queue.Broker.Host}:{Queue.Broker.Port}, {Queue.Shards} shard queues";

    /// <summary>Events this node's writer inserted into ClickHouse since it started.</summary>
    public long Inserted => _writer?.Inserted ?? 0;

    /// <summary>Events this node's writer found stored already (redeliveries, retries sent twice).</summary>
    public long Duplicates => _writer?.Duplicates ?? 0;

    /// <summary>True once the schema is in place and the writer consumes (or, on an answering node, the feed is subscribed).</summary>
    public bool Running => _writer is not null || (!Collects && _feed is not null);

    /// <summary>True once the KPI projection holds what ClickHouse held at start-up and follows the feed: the node answers KPI questions.</summary>
    public bool Answering => _feed?.Loaded ?? false;

    /// <summary>Events applied to this node's KPI projection (from ClickHouse at start-up, then from the feed).</summary>
    public long ProjectionApplied => _feed?.Applied ?? 0;

    /// <summary>Events ClickHouse holds that this node's projection lacks, as of the last check (every 30 s).</summary>
    public long ProjectionLag => _feed?.Lag ?? 0;

    /// <summary>Inserted batches this node's writer could not publish to the feed.</summary>
    public long FeedMisses => _writer?.FeedMisses ?? 0;

    /// <summary>A node from the URLs of <c>serve --clickhouse URL --rabbitmq URI</c>.</summary>
    /// <exception cref="ArgumentException">A URL is not usable; the message says how to write it.</exception>
    public static ClusterNode Create(string clickHouseUrl, string rabbitMqUri, int shards = 4, ClusterRole role = ClusterRole.All) =>
        Create(clickHouseUrl, rabbitMqUri, shards, EventQueueOptions.DefaultPrefix, role);

    /// <summary>A node whose queues and exchanges are named from <paramref name="queuePrefix"/> (tests run several clusters on one broker).</summary>
    internal static ClusterNode Create(string clickHouseUrl, string rabbitMqUri, int shards, string queuePrefix, ClusterRole role = ClusterRole.All)
    {
        var clickHouse = ClickHouseSettings.Parse(clickHouseUrl);
        if (!Uri.TryCreate(rabbitMqUri, UriKind.Absolute, out var broker))
        {
            throw new ArgumentException($"the RabbitMQ URI '{rabbitMqUri}' is not a URI; write amqp://USER:PASSWORD@HOST:5672/");
        }
        var queue = new EventQueueOptions { Broker = broker, Shards = shards, Prefix = queuePrefix };
        queue.Validate();
        return new ClusterNode(clickHouse, queue, role);
    }

    /// <summary>The collector's sink: events to the queue, refused ones and the store directory from <paramref name="local"/> (the node's own log).</summary>
    internal IEventSink SinkFor(IEventSink local) => _sink = new QueueEventSink(Publisher, ClickHouse, local);

    private QueueEventSink? _sink;

    /// <summary>Requests whose duplicate lookup in ClickHouse failed or timed out (their duplicates were left to the writers).</summary>
    public long LookupsSkipped => _sink?.LookupsSkipped ?? 0;

    /// <summary>
    /// Creates the ClickHouse tables, loads the stores, starts the writer (a collecting node), loads
    /// the KPI projection from ClickHouse and follows the written-events feed (an answering node,
    /// <see cref="ClusterFeed"/>), then
    /// reloads the stores and measures the projection's lag every <paramref name="storesEvery"/>
    /// until cancelled. Each step is retried while its server is away; <paramref name="report"/>
    /// hears what happened (the host logs it).
    /// </summary>
    public async Task RunAsync(StoreDirectory stores, Kpi.KpiEngine kpis, Recommendations.RecommendationModel? recommendations, TimeSpan storesEvery, Action<string> report, CancellationToken ct)
    {
        await UntilDoneAsync(() => EventsSchema.EnsureAsync(ClickHouse, ct), "create the ClickHouse tables", report, ct).ConfigureAwait(false);
        await UntilDoneAsync(async () => report($"{await ClusterStores.LoadAsync(ClickHouse, stores, ct).ConfigureAwait(false)} stores loaded from ClickHouse"), "load the stores", report, ct).ConfigureAwait(false);
        if (Answers)
        {
            // Subscribed before the writer starts, so that nothing this node inserts escapes the feed.
            await UntilDoneAsync(async () => _feed = await ClusterFeed.SubscribeAsync(Queue, ClickHouse, kpis, recommendations, ct).ConfigureAwait(false), "subscribe to the written events", report, ct).ConfigureAwait(false);
        }
        if (Collects)
        {
            await UntilDoneAsync(async () => _writer = await ClusterWriter.StartAsync(Queue, ClickHouse, Publisher, ct: ct).ConfigureAwait(false), "start the writer", report, ct).ConfigureAwait(false);
            report("writer consuming " + Queue.Shards + " shard queues");
        }
        Task following = Task.Delay(Timeout.Infinite, ct);
        if (_feed is not null)
        {
            var loading = System.Diagnostics.Stopwatch.StartNew();
            await UntilDoneAsync(async () =>
            {
                // A load that broke off half-way starts again from an empty projection.
                kpis.ResetForReload();
                await _feed.LoadAsync(null, ct).ConfigureAwait(false);
            }, "load the KPI projection from ClickHouse", report, ct).ConfigureAwait(false);
            report($"KPI projection loaded from ClickHouse: {_feed.Applied} events in {loading.Elapsed.TotalSeconds:0.0} s");
            following = Task.Run(() => _feed.FollowAsync(ct), CancellationToken.None);
        }
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(storesEvery, ct).ConfigureAwait(false);
            if (following.IsFaulted)
            {
                // Not expected (stored events apply); surfaced rather than left unobserved.
                await following.ConfigureAwait(false);
            }
            try
            {
                await ClusterStores.LoadAsync(ClickHouse, stores, ct).ConfigureAwait(false);
                if (_feed is not null)
                {
                    await _feed.CheckLagAsync(ct).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is ClickHouseUnavailableException or ClickHouseException)
            {
                report("reload the stores and check the projection: " + e.Message);
            }
        }
    }

    private static async Task UntilDoneAsync(Func<Task> step, string what, Action<string> report, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await step().ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is ClickHouseUnavailableException or ClickHouseException or QueueUnavailableException)
            {
                report($"{what}: {e.Message}; retrying in {Retry.TotalSeconds:0} s");
                await Task.Delay(Retry, ct).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
        }
        if (_feed is not null)
        {
            await _feed.DisposeAsync().ConfigureAwait(false);
        }
        await Publisher.DisposeAsync().ConfigureAwait(false);
        ClickHouse.Dispose();
    }
}
