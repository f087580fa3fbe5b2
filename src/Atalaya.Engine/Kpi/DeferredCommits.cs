using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Kpi;

/// <summary>
/// Commits that arrived while the projection's snapshot was being written, copied out of their
/// batches (which their requests dispose of once acknowledged) to be applied right after it: each
/// kept event's stored JSON, its collected facts and items, its source and sequence number. Its
/// segments and lists are rented and handed back by <see cref="Dispose"/> once applied: under steady
/// ingest a snapshot every few seconds set aside tens of MB, and as new arrays those were
/// large-object garbage that brought on full collections.
/// </summary>
internal sealed class DeferredCommits : IDisposable
{
    private const int SegmentBytes = 1 << 20;

    private readonly List<byte[]> _segments = [];
    private int _used;
    private readonly RentedList<Entry> _entries = new();
    private readonly RentedList<CollectedItem> _items = new();

    // Where each request batch's events start in _entries: they are applied a batch per write lock, as commits are.
    private readonly List<int> _batchStarts = [];

    public int Count => _entries.Count;

    /// <summary>Request batches set aside (those with at least one kept event).</summary>
    public int Batches => _batchStarts.Count;

    public void Add(IReadOnlyList<CommittedBatch> batches)
    {
        foreach (var committed in batches)
        {
            var seq = committed.FirstSeq;
            var batch = committed.Batch;
            _batchStarts.Add(_entries.Count);
            var events = batch.Events;
            var facts = batch.Facts;
            for (var i = 0; i < events.Length; i++)
            {
                if (!committed.Kept[i])
                {
                    continue;
                }
                var json = batch.Json(events[i]);
                var (segment, offset) = Reserve(json.Length);
                json.CopyTo(segment.AsSpan(offset));
                var f = facts[i];
                var firstItem = _items.Count;
                _items.AddRange(batch.Items.Slice(f.FirstItem, f.ItemCount));
                _entries.Add(new Entry(segment, offset, json.Length, f, firstItem, batch.SourceSystem, seq++));
            }
        }
    }

    /// <summary>Applies the copied events of request batch <paramref name="batch"/>, in order. Call under the projection's write lock.</summary>
    public void ApplyBatch(KpiProjection projection, int batch)
    {
        var items = _items.AsSpan();
        var end = batch + 1 < _batchStarts.Count ? _batchStarts[batch + 1] : _entries.Count;
        for (var i = _batchStarts[batch]; i < end; i++)
        {
            var e = _entries[i];
            projection.Apply(e.Segment.AsSpan(e.Offset, e.Length), e.Facts, items.Slice(e.FirstItem, e.Facts.ItemCount), e.SourceSystem, e.Seq);
        }
    }

    private (byte[] Segment, int Offset) Reserve(int length)
    {
        if (_segments.Count == 0 || _used + length > _segments[^1].Length)
        {
            _segments.Add(ScratchArrays<byte>.Rent(Math.Max(SegmentBytes, length)));
            _used = 0;
        }
        var at = _used;
        _used += length;
        return (_segments[^1], at);
    }

    public void Dispose()
    {
        foreach (var segment in _segments)
        {
            ScratchArrays<byte>.Return(segment);
        }
        _segments.Clear();
        _entries.Dispose();
        _items.Dispose();
    }

    private readonly record struct Entry(byte[] Segment, int Offset, int Length, CollectedFacts Facts, int FirstItem, string SourceSystem, long Seq);
}
