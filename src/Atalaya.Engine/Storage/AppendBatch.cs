using System.Buffers;
using Atalaya.Engine.Collect;

namespace Atalaya.Engine.Storage;

/// <summary>
/// One request's worth of validated, normalized events and the rejections to quarantine, handed to
/// the <see cref="EventLog"/> as a unit. The events are written as one JSON array
/// (<c>[e1,e2,…]</c>) in a pooled buffer, so that when none is a duplicate the log stores the
/// buffer as it is. Beside each event, the facts the KPI projection reads, where the single pass
/// collected them (<see cref="CollectedFacts"/>). The log decides which events are duplicates;
/// everything else in here was decided by the ingest pipeline. Dispose it once appended.
/// </summary>
internal sealed class AppendBatch : IDisposable
{
    private readonly PooledBufferWriter _buffer;
    // Pooled: a request's events (thousands of ~64-byte entries) would otherwise be large-object-heap
    // arrays, regrown per request, and each LOH allocation brings gen-2 collections closer.
    private BatchEvent[] _events;
    private CollectedFacts[] _facts;
    private int _eventCount;
    private CollectedItem[] _items = ArrayPool<CollectedItem>.Shared.Rent(16);
    private int _itemCount;
    private readonly List<QuarantinedEvent> _rejected = [];
    private bool _closed;

    /// <param name="expectedBytes">A hint: about the size of the request body.</param>
    public AppendBatch(string sourceSystem, long receivedAtMs, int expectedBytes = 4096)
    {
        SourceSystem = sourceSystem;
        ReceivedAtMs = receivedAtMs;
        _buffer = new PooledBufferWriter(expectedBytes + expectedBytes / 4 + 1024);
        _buffer.Write((byte)'[');
        // Sized for events of a few hundred bytes, so that a large request seldom regrows them.
        var expectedEvents = Math.Clamp(expectedBytes / 384, 64, 1 << 16);
        _events = ArrayPool<BatchEvent>.Shared.Rent(expectedEvents);
        _facts = ArrayPool<CollectedFacts>.Shared.Rent(expectedEvents);
    }

    public string SourceSystem { get; }

    public long ReceivedAtMs { get; }

    public ReadOnlySpan<BatchEvent> Events => _events.AsSpan(0, _eventCount);

    public int EventCount => _eventCount;

    /// <summary>Each event's facts, by the event's position in <see cref="Events"/>.</summary>
    public ReadOnlySpan<CollectedFacts> Facts => _facts.AsSpan(0, _eventCount);

    /// <summary>The items of every event's facts (see <see cref="CollectedFacts.FirstItem"/>).</summary>
    public ReadOnlySpan<CollectedItem> Items => _items.AsSpan(0, _itemCount);

    public int ItemCount => _itemCount;

    public IReadOnlyList<QuarantinedEvent> Rejected => _rejected;

    /// <summary>The writer that normalized events are written into, one after another.</summary>
    public IBufferWriter<byte> Buffer => _buffer;

    public int WrittenCount => _buffer.WrittenCount;

    public ReadOnlySpan<byte> Json(BatchEvent e) => _buffer.WrittenSpan.Slice(e.Offset, e.Length);

    /// <summary>Called before writing an event: separates it from the previous one.</summary>
    public void BeginEvent()
    {
        if (_eventCount > 0)
        {
            _buffer.Write((byte)',');
        }
    }

    /// <summary>Records the event written to <see cref="Buffer"/> since <paramref name="offset"/>.</summary>
    /// <param name="facts">What the projection reads of the event, with offsets relative to the event's start.</param>
    public void AddEvent(int requestIndex, UInt128 idHash, long timestampMs, int offset, StoreDimension? store, in CollectedFacts facts)
    {
        if (_eventCount == _events.Length)
        {
            Grow(ref _events);
        }
        if (_eventCount == _facts.Length)
        {
            Grow(ref _facts);
        }
        _facts[_eventCount] = facts;
        _events[_eventCount++] = new BatchEvent(requestIndex, idHash, timestampMs,
            offset, _buffer.WrittenCount - offset, store);
    }

    public void AddItem(CollectedItem item)
    {
        if (_itemCount == _items.Length)
        {
            Grow(ref _items);
        }
        _items[_itemCount++] = item;
    }

    private static void Grow<T>(ref T[] array)
    {
        var larger = ArrayPool<T>.Shared.Rent(array.Length * 2);
        array.CopyTo(larger, 0);
        // Cleared: entries may hold store rows that must not outlive the request.
        ArrayPool<T>.Shared.Return(array, clearArray: true);
        array = larger;
    }

    /// <summary>The whole array <c>[…]</c>, closed on first use.</summary>
    public (byte[] Array, int Length) ClosedArray()
    {
        if (!_closed)
        {
            _buffer.Write((byte)']');
            _closed = true;
        }
        return (_buffer.Array, _buffer.WrittenCount);
    }

    private (byte[] Buffer, int Length)? _compressed;

    /// <summary>
    /// The closed array, compressed (<see cref="BlockCodec"/>). The pipeline calls it on the
    /// request's thread before appending, so the single writer only compresses when duplicates
    /// force it to rebuild the block.
    /// </summary>
    public (byte[] Buffer, int Length) Compressed()
    {
        if (_compressed is null)
        {
            var (array, length) = ClosedArray();
            _compressed = BlockCodec.Compress(array.AsSpan(0, length));
        }
        return _compressed.Value;
    }

    public void Dispose()
    {
        _buffer.Dispose();
        if (_events.Length > 0)
        {
            // Only the entries used are cleared (they hold store rows that must not outlive the
            // request): only batches rent from these pools, so the rest is clean already.
            Array.Clear(_events, 0, _eventCount);
            Array.Clear(_facts, 0, _eventCount);
            ArrayPool<BatchEvent>.Shared.Return(_events);
            ArrayPool<CollectedFacts>.Shared.Return(_facts);
            ArrayPool<CollectedItem>.Shared.Return(_items);
            _events = [];
            _facts = [];
            _items = [];
            _eventCount = 0;
            _itemCount = 0;
        }
        if (_compressed is { } compressed)
        {
            BlockCodec.Release(compressed.Buffer);
            _compressed = null;
        }
    }

    /// <summary>
    /// How many of this request's rejected events are quarantined whole (payload and errors, secrets
    /// redacted); the others are answered in full but only counted in storage, so a request of
    /// 100,000 bad events cannot write 100,000 rows.
    /// </summary>
    public int QuarantinePerRequest { get; init; } = IngestOptions.DefaultQuarantinePerRequest;

    /// <summary>The rejected events whose payload is kept: the first <see cref="QuarantinePerRequest"/>.</summary>
    public int KeptRejections => Math.Min(_rejected.Count, QuarantinePerRequest);

    /// <summary>
    /// How many of the request's rejected events are stored whole when its source already stored
    /// <paramref name="usedThisHour"/> in this clock hour: the per-request bound, cut to what is left
    /// of the hourly budget. The one rule for the data folder's log and a cluster's PostgreSQL.
    /// </summary>
    public int QuarantineKeep(int perSourcePerHour, int usedThisHour) => Math.Max(0, Math.Min(KeptRejections, perSourcePerHour - usedThisHour));

    public void AddRejected(QuarantinedEvent rejected)
    {
        // Redacted here, on the request's thread, and only for the rows that will be stored.
        _rejected.Add(_rejected.Count < QuarantinePerRequest
            ? rejected with { Payload = SecretRedactor.Redact(rejected.Payload), Errors = [.. rejected.Errors.Select(SecretRedactor.Redact)] }
            : rejected with { Payload = "" });
    }
}

internal readonly record struct BatchEvent(
    int RequestIndex, UInt128 IdHash, long TimestampMs, int Offset, int Length, StoreDimension? Store);

/// <summary>A store's dimension row, taken from its <c>store_created</c> event.</summary>
public sealed record StoreDimension(string StoreId, string? StoreName, string? Country, string? Hub, string? Zone, string? Category, long CreatedAtMs);

/// <summary>A rejected event with its reasons, kept in <c>failed_events</c>.</summary>
internal sealed record QuarantinedEvent(int RequestIndex, string? EventId, string Reason, IReadOnlyList<string> Errors, string Payload);

/// <summary>What the log made of a batch: how many events were new, how many already stored.</summary>
internal readonly record struct AppendOutcome(int Accepted, int Duplicates);
