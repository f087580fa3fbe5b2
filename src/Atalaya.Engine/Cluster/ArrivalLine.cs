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
    /// The most a collector's or a writer's message holds: a request's events of one shard (a
    /// 5,000-event request is about 0.9 MiB a shard, one message), or a part of an inserted batch
    /// on the written-events exchange. Past RabbitMQ's max_message_size (128 MiB) a publish closes
    /// the channel, which is what a writer's whole batch used to do. Not smaller: a collector
    /// answers once every message is confirmed, and cut at 128 KiB a request became about 28
    /// confirmed publishes instead of 4 (a collecting node took 26–28k events/s instead of 42–47k,
    /// docs/benchmarks.md). The consumers' prefetch is counted in messages (RabbitMQ has no byte
    /// limit for it), so this bounds what they hold: a node's feed 64 × 1 MiB, a writer facing a
    /// backlog of large requests 4 shards × 500 × 1 MiB.
    /// </summary>
    public const int MessageBytes = 1024 * 1024;

    /// <summary>
    /// The most a migration's message holds (about 250 events): a migration fills the queues with
    /// the whole folder at once, so a writer draining it holds at most 4 × 500 × 128 KiB = 256 MiB.
    /// </summary>
    public const int MigrationMessageBytes = 128 * 1024;

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
