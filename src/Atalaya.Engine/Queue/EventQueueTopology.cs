using System.IO.Hashing;
using System.Text;
using RabbitMQ.Client;

namespace Atalaya.Engine.Queue;

/// <summary>
/// The queues events travel through: N durable quorum queues (<c>{prefix}.0</c> … <c>{prefix}.N-1</c>),
/// each with single active consumer so one writer at a time owns a shard (and sees its messages in
/// order), and a dead-letter exchange and queue (<c>{prefix}.dead</c>) for messages a writer cannot
/// store, carrying the reason in the <see cref="ReasonHeader"/> header. Declaring is idempotent:
/// collectors and writers both declare on connect, with the same arguments, and whoever comes first
/// creates. An event's shard is a stable hash of its event_id (XxHash32 of its UTF-8 bytes, mod N),
/// the same in every process and every release.
/// </summary>
internal sealed class EventQueueTopology(EventQueueOptions options)
{
    public const string ReasonHeader = "x-atalaya-dead-reason";

    public int Shards => options.Shards;

    public string ShardQueue(int shard) =>
        shard >= 0 && shard < options.Shards
            ? $"{options.Prefix}.{shard}"
            : throw new ArgumentOutOfRangeException(nameof(shard), shard, $"a shard is between 0 and {options.Shards - 1}");

    public string DeadLetterExchange => options.Prefix + ".dead";

    public string DeadLetterQueue => options.Prefix + ".dead";

    /// <summary>
    /// The fanout exchange writers publish the events they inserted into ClickHouse to; each node
    /// binds its own exclusive queue to it and applies them to its KPI projection.
    /// </summary>
    public string WrittenExchange => options.Prefix + ".written";

    public int ShardOf(string eventId) => ShardOf(eventId, options.Shards);

    public static int ShardOf(string eventId, int shards)
    {
        var max = Encoding.UTF8.GetMaxByteCount(eventId.Length);
        Span<byte> buffer = max <= 512 ? stackalloc byte[max] : new byte[max];
        var length = Encoding.UTF8.GetBytes(eventId, buffer);
        return (int)(XxHash32.HashToUInt32(buffer[..length]) % (uint)shards);
    }

    public async Task DeclareAsync(IChannel channel, CancellationToken ct)
    {
        var quorum = new Dictionary<string, object?> { ["x-queue-type"] = "quorum" };
        await channel.ExchangeDeclareAsync(DeadLetterExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct);
        await channel.QueueDeclareAsync(DeadLetterQueue, durable: true, exclusive: false, autoDelete: false, quorum, cancellationToken: ct);
        await channel.QueueBindAsync(DeadLetterQueue, DeadLetterExchange, routingKey: "", cancellationToken: ct);
        await channel.ExchangeDeclareAsync(WrittenExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct);
        var shard = new Dictionary<string, object?> { ["x-queue-type"] = "quorum", ["x-single-active-consumer"] = true };
        for (var i = 0; i < options.Shards; i++)
        {
            await channel.QueueDeclareAsync(ShardQueue(i), durable: true, exclusive: false, autoDelete: false, shard, cancellationToken: ct);
        }
    }
}
