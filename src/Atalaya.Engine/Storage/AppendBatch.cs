using System.Buffers;

namespace Atalaya.Engine.Storage;

/// <summary>
/// One request's worth of validated, normalized events (back to back in one buffer) and the
/// rejections to quarantine, handed to the <see cref="EventLog"/> as a unit. The log decides which
/// events are duplicates; everything else in here was decided by the ingest pipeline.
/// </summary>
public sealed class AppendBatch
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly List<BatchEvent> _events = [];
    private readonly List<QuarantinedEvent> _rejected = [];

    public AppendBatch(string sourceSystem, long receivedAtMs)
    {
        SourceSystem = sourceSystem;
        ReceivedAtMs = receivedAtMs;
    }

    public string SourceSystem { get; }

    public long ReceivedAtMs { get; }

    public IReadOnlyList<BatchEvent> Events => _events;

    public IReadOnlyList<QuarantinedEvent> Rejected => _rejected;

    /// <summary>The writer that normalized events are written into, one after another.</summary>
    public IBufferWriter<byte> Buffer => _buffer;

    public int WrittenCount => _buffer.WrittenCount;

    public ReadOnlySpan<byte> Json(BatchEvent e) => _buffer.WrittenSpan.Slice(e.Offset, e.Length);

    /// <summary>Records the event written to <see cref="Buffer"/> since <paramref name="offset"/>.</summary>
    public void AddEvent(int requestIndex, string eventId, long timestampMs, int offset, StoreDimension? store)
    {
        _events.Add(new BatchEvent(requestIndex, eventId, Storage.EventIdIndex.Hash(eventId), timestampMs,
            offset, _buffer.WrittenCount - offset, store));
    }

    public void AddRejected(QuarantinedEvent rejected) => _rejected.Add(rejected);
}

public readonly record struct BatchEvent(
    int RequestIndex, string EventId, UInt128 IdHash, long TimestampMs, int Offset, int Length, StoreDimension? Store);

/// <summary>A store's dimension row, taken from its <c>store_created</c> event.</summary>
public sealed record StoreDimension(string StoreId, string? StoreName, string? Country, string? Hub, string? Zone, string? Category, long CreatedAtMs);

/// <summary>A rejected event with its reasons, kept in <c>failed_events</c>.</summary>
public sealed record QuarantinedEvent(int RequestIndex, string? EventId, string Reason, IReadOnlyList<string> Errors, string Payload);

/// <summary>What the log made of a batch: how many events were new, how many already stored.</summary>
public readonly record struct AppendOutcome(int Accepted, int Duplicates);
