using System.Buffers;
using System.Buffers.Text;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// A line of a cluster message: a stored event, preceded by its arrival position and a space
/// (<c>17 {"event_id":…}</c>). The position orders the events of one request (a collector's index in
/// the request) or of a migrated folder (its log's sequence number), which the events' own
/// <c>received_at</c> cannot: every event of a request has the same one, and a request's events
/// travel on several shards. Events that tie on time and subject (two stock snapshots of one product
/// at the same instant) then keep the order the embedded hub would give them: the later one wins.
/// A line without the prefix (a bare stored event) has position 0.
/// </summary>
internal static class ArrivalLine
{
    /// <summary>
    /// The most a cluster message holds (about 250 events of a marketplace's size). The consumers'
    /// prefetch is counted in messages (RabbitMQ has no byte limit for it), so the message size
    /// bounds what a writer or a node's feed holds in memory: a writer's 4 shards × 500 messages ×
    /// 128 KiB is at most 256 MiB. Larger messages made a node hold gigabytes while it drained a
    /// migrated folder, and a message past the broker's max_message_size closes the channel.
    /// </summary>
    public const int MessageBytes = 128 * 1024;

    public static void Write(IBufferWriter<byte> body, long arrival, ReadOnlySpan<byte> storedEvent)
    {
        var span = body.GetSpan(21);
        Utf8Formatter.TryFormat(arrival, span, out var written);
        span[written++] = (byte)' ';
        body.Advance(written);
        body.Write(storedEvent);
        body.Write("\n"u8);
    }

    public static (long Arrival, ReadOnlyMemory<byte> StoredEvent) Read(ReadOnlyMemory<byte> line)
    {
        var span = line.Span;
        if (span.Length > 0 && span[0] is >= (byte)'0' and <= (byte)'9'
            && Utf8Parser.TryParse(span, out long arrival, out var consumed) && consumed < span.Length && span[consumed] == (byte)' ')
        {
            return (arrival, line[(consumed + 1)..]);
        }
        return (0, line);
    }

    /// <summary>The non-empty lines of a message body.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Lines(ReadOnlyMemory<byte> body)
    {
        var start = 0;
        while (start < body.Length)
        {
            var newline = body.Span[start..].IndexOf((byte)'\n');
            var length = newline < 0 ? body.Length - start : newline;
            if (length > 0)
            {
                yield return body.Slice(start, length);
            }
            start += length + 1;
        }
    }

    /// <summary>
    /// NDJSON cut at line ends into parts of at most <paramref name="size"/> bytes (a single line
    /// longer than that is a part of its own).
    /// </summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Parts(ReadOnlyMemory<byte> ndjson, int size = MessageBytes)
    {
        while (ndjson.Length > size)
        {
            var cut = ndjson.Span[..size].LastIndexOf((byte)'\n') + 1;
            if (cut <= 0)
            {
                cut = ndjson.Span.IndexOf((byte)'\n') + 1;
                if (cut <= 0)
                {
                    break;
                }
            }
            yield return ndjson[..cut];
            ndjson = ndjson[cut..];
        }
        if (ndjson.Length > 0)
        {
            yield return ndjson;
        }
    }
}
