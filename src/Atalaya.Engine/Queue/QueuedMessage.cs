using System.Text;

namespace Atalaya.Engine.Queue;

/// <summary>
/// One message of a consumer's batch. The body is a copy (the client library reuses its buffer once
/// the delivery callback returns). <see cref="DeliveryCount"/> is how many earlier deliveries of this
/// message were returned to the queue unacknowledged (the quorum queue's <c>x-delivery-count</c>; 0 on
/// the first). A handler calls <see cref="MarkPoison"/> for a message it can never store; the consumer
/// then moves it to the dead-letter queue with the reason instead of retrying it.
/// </summary>
internal sealed class QueuedMessage(int shard, ulong deliveryTag, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, object?> headers, int deliveryCount)
{
    public int Shard => shard;

    public ReadOnlyMemory<byte> Body => body;

    public IReadOnlyDictionary<string, object?> Headers => headers;

    public int DeliveryCount => deliveryCount;

    internal ulong DeliveryTag => deliveryTag;

    internal string? PoisonReason { get; private set; }

    public void MarkPoison(string reason) => PoisonReason = reason;

    /// <summary>A header as text: AMQP carries strings as bytes.</summary>
    public string? Header(string name) => headers.TryGetValue(name, out var value) ? HeaderText(value) : null;

    internal static string? HeaderText(object? value) => value switch
    {
        null => null,
        byte[] utf8 => Encoding.UTF8.GetString(utf8),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
    };
}
