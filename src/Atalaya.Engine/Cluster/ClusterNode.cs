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
    private long _reloads;

    /// <summary>
    /// The same positive lag this many checks in a row means events the feed will never bring (a
    /// writer's publish failed, the node's own connection dropped): the node loads again. A node
    /// catching up on a backlog shows a changing lag, never the same one three times.
    /// </summary>
    internal const int SameLagChecksBeforeReload = 3;

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

    /// <summary>Times this node loaded its projection again because the feed had lost events (<see cref="SameLagChecksBeforeReload"/>).</summary>
    public long Reloads => Interlocked.Read(ref _reloads);

    /// <summary>How often the node reloads the stores and checks its projection's lag, when not the caller's (tests shorten it).</summary>
    internal TimeSpan? CheckEvery { get; set; }

    /// <summary>
    /// Publishes an erasure's re-keying to every node's feed (<see cref="RekeyMessage"/>), this one's
    /// included; each applies it in order with the written events.
    /// </summary>
    /// <exception cref="QueueUnavailableException">RabbitMQ did not take the message.</exception>
    internal Task PublishRekeyAsync(RekeyMessage message, CancellationToken ct) =>
        Publisher.PublishControlAsync(message.ToJson(), new Dictionary<string, object?> { [RekeyMessage.Header] = message.ErasureId }, ct);

    /// <summary>Whether this node's KPI projection has applied that erasure's re-keying (false on a node that answers nothing).</summary>
    internal bool HasRekeyed(string erasureId) => _feed?.Rekeyed(erasureId) ?? false;

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

    /// <summary>
    /// The collector's sink: events to the queue, the store directory from <paramref name="local"/>
    /// (the node's own log), refused events into <paramref name="shared"/> (the cluster's PostgreSQL) when given, else into <paramref name="local"/>.
    /// </summary>
    internal IEventSink SinkFor(IEventSink local, SharedQuarantine? shared = null) => _sink = new QueueEventSink(Publisher, ClickHouse, local, shared: shared);

    private QueueEventSink? _sink;

    /// <summary>
    /// Creates the ClickHouse tables when missing and loads the cluster's stores from ClickHouse into
    /// <paramref name="stores"/>, as a serving node does when it starts: a process that only publishes
    /// (a CLI import or replay) enriches events the same way.
    /// </summary>
    /// <exception cref="InvalidOperationException">ClickHouse cannot be reached or refused a query; the message says which.</exception>
    public async Task<int> LoadStoresAsync(StoreDirectory stores, CancellationToken ct)
    {
        try
        {
            await EventsSchema.EnsureAsync(ClickHouse, ct).ConfigureAwait(false);
            return await ClusterStores.LoadAsync(ClickHouse, stores, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ClickHouseUnavailableException or ClickHouseException)
        {
            throw new InvalidOperationException($"ClickHouse at {ClickHouseSettings.Url} database {ClickHouseSettings.Database}: {e.Message}", e);
        }
    }

    /// <summary>Requests whose duplicate lookup in ClickHouse failed or timed out (their duplicates were left to the writers).</summary>
    public long LookupsSkipped => _sink?.LookupsSkipped ?? 0;

    /// <summary>Rejected events whose quarantine rows PostgreSQL could not take (it was away); they were still answered as rejected.</summary>
    public long QuarantineRowsLost => _sink?.QuarantineRowsLost ?? 0;

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
        var following = _feed is null ? Task.Delay(Timeout.Infinite, ct) : await LoadAndFollowAsync(_feed, kpis, recommendations, report, ct).ConfigureAwait(false);
        var every = CheckEvery ?? storesEvery;
        var (lastLag, sameLag) = (0L, 0);
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(every, ct).ConfigureAwait(false);
            if (following.IsFaulted)
            {
                // Not expected (stored events apply); surfaced rather than left unobserved.
                await following.ConfigureAwait(false);
            }
            try
            {
                await ClusterStores.LoadAsync(ClickHouse, stores, ct).ConfigureAwait(false);
                if (_feed is null)
                {
                    continue;
                }
                if (_feed.RekeyConflicts > 0)
                {
                    report("an erasure's re-keying found the person under both their old id and the pseudonym (the projection loaded while ClickHouse rewrote their rows); loading again from ClickHouse");
                    following = await ReloadAsync(following, kpis, recommendations, report, ct).ConfigureAwait(false);
                    (lastLag, sameLag) = (0, 0);
                    continue;
                }
                await _feed.CheckLagAsync(ct).ConfigureAwait(false);
                var lag = _feed.Lag;
                sameLag = lag > 0 && lag == lastLag ? sameLag + 1 : 0;
                lastLag = lag;
                if (sameLag + 1 >= SameLagChecksBeforeReload)
                {
                    report($"the KPI projection lacks {lag} events ClickHouse holds, the same {SameLagChecksBeforeReload} checks in a row: the feed lost them; loading again from ClickHouse");
                    following = await ReloadAsync(following, kpis, recommendations, report, ct).ConfigureAwait(false);
                    (lastLag, sameLag) = (0, 0);
                }
            }
            catch (Exception e) when (e is ClickHouseUnavailableException or ClickHouseException or QueueUnavailableException)
            {
                report("reload the stores and check the projection: " + e.Message);
            }
        }
    }

    /// <summary>Loads <paramref name="feed"/>'s projection from ClickHouse (from empty) and starts following it; returns the following task.</summary>
    private static async Task<Task> LoadAndFollowAsync(ClusterFeed feed, Kpi.KpiEngine kpis, Recommendations.RecommendationModel? recommendations, Action<string> report, CancellationToken ct)
    {
        var loading = System.Diagnostics.Stopwatch.StartNew();
        await UntilDoneAsync(async () =>
        {
            // A load that broke off half-way starts again from an empty projection and model.
            kpis.ResetForReload();
            recommendations?.ResetForReload();
            await feed.LoadAsync(null, ct).ConfigureAwait(false);
        }, "load the KPI projection from ClickHouse", report, ct).ConfigureAwait(false);
        report($"KPI projection loaded from ClickHouse: {feed.Applied} events in {loading.Elapsed.TotalSeconds:0.0} s");
        return Task.Run(() => feed.FollowAsync(ct), CancellationToken.None);
    }

    /// <summary>
    /// A new feed subscribed first (nothing inserted from now on escapes it), the old one stopped and
    /// its last apply finished, then the projection loaded again from empty: meanwhile the node
    /// answers 503, as at start.
    /// </summary>
    private async Task<Task> ReloadAsync(Task following, Kpi.KpiEngine kpis, Recommendations.RecommendationModel? recommendations, Action<string> report, CancellationToken ct)
    {
        var feed = await ClusterFeed.SubscribeAsync(Queue, ClickHouse, kpis, recommendations, ct).ConfigureAwait(false);
        var old = _feed!;
        _feed = feed;
        await old.DisposeAsync().ConfigureAwait(false);
        try
        {
            await following.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            report("the old feed ended with " + e.Message);
        }
        Interlocked.Increment(ref _reloads);
        return await LoadAndFollowAsync(feed, kpis, recommendations, report, ct).ConfigureAwait(false);
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
