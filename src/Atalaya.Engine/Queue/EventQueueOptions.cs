using RabbitMQ.Client;

namespace Atalaya.Engine.Queue;

/// <summary>
/// Where the event queue lives and how it is cut. <see cref="Shards"/> fixes which queue an
/// event_id lands in, so it must be the same on every collector and writer of a cluster and must
/// not change while messages are queued (drain the queues first; docs/scale-out.md says how).
/// </summary>
internal sealed record EventQueueOptions
{
    public required Uri Broker { get; init; }

    /// <summary>Number of shard queues (<c>atalaya.events.0</c> … <c>atalaya.events.N-1</c>).</summary>
    public int Shards { get; init; } = 4;

    /// <summary>Queue and exchange names start with this; tests use a random one to stay apart.</summary>
    public string Prefix { get; init; } = DefaultPrefix;

    /// <summary>The queues' and exchanges' names begin with this unless configured otherwise.</summary>
    public const string DefaultPrefix = "atalaya.events";

    /// <summary>Channels the publisher keeps open for concurrent publishes (each awaits its own confirms).</summary>
    public int PublishChannels { get; init; } = 4;

    /// <summary>How long a publish waits for the broker's confirm before it reports the queue unavailable.</summary>
    public TimeSpan ConfirmTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a first connection attempt may take; also the pause between reconnect attempts.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The client library reconnects a lost connection this often until the broker is back.</summary>
    public TimeSpan RecoveryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Unacknowledged messages the broker may hand one consumer at a time. A message is one
    /// request's events of a shard (or up to 1 MB of a migration), so this bounds what a writer
    /// holds in memory facing a backlog: about 500 MB a shard at worst, not the whole backlog.
    /// </summary>
    public ushort Prefetch { get; init; } = 500;

    /// <summary>A consumer's batch closes at this many messages…</summary>
    public int BatchSize { get; init; } = 1_000;

    /// <summary>…or this long after its first message arrived, whichever comes first.</summary>
    public TimeSpan BatchWait { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Deliveries of one message whose batch handler threw before the message is dead-lettered.</summary>
    public int MaxDeliveries { get; init; } = 5;

    /// <summary>
    /// Deliveries of one message that no consumer settled (each died or disconnected holding it)
    /// before it is dead-lettered unseen: a message that crashes its writer must not crash the next.
    /// Kept well above the restarts a deployment causes.
    /// </summary>
    public int MaxUnsettledDeliveries { get; init; } = 20;

    /// <summary>Pause after a failed batch before its messages go back to the queue (no hot retry loop).</summary>
    public TimeSpan RedeliveryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>host:port of the broker, for messages.</summary>
    public string Endpoint => $"{Broker.Host}:{(Broker.IsDefaultPort ? 5672 : Broker.Port)}";

    public void Validate()
    {
        if (Broker.Scheme is not ("amqp" or "amqps"))
        {
            throw new ArgumentException($"the RabbitMQ URI must start with amqp:// or amqps:// (got '{Broker.Scheme}://'), e.g. amqp://guest:guest@127.0.0.1:5672/");
        }
        if (Shards is < 1 or > 1024)
        {
            throw new ArgumentException($"the number of queue shards must be between 1 and 1024 (got {Shards})");
        }
        if (PublishChannels < 1 || BatchSize < 1 || MaxDeliveries < 1 || MaxUnsettledDeliveries < 1)
        {
            throw new ArgumentException("publish channels, batch size, max deliveries and max unsettled deliveries must each be at least 1");
        }
    }

    internal ConnectionFactory ConnectionFactory() => new()
    {
        Uri = Broker,
        AutomaticRecoveryEnabled = true,
        TopologyRecoveryEnabled = true,
        NetworkRecoveryInterval = RecoveryInterval,
        RequestedConnectionTimeout = ConnectTimeout,
        ContinuationTimeout = ConfirmTimeout,
        ClientProvidedName = "atalaya",
    };
}
