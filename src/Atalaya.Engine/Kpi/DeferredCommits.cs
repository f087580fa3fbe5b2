using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Kpi;

/// <summary>
/// Commits that arrived while the projection's snapshot was being written, copied out of their
/// batches (which their requests dispose of once acknowledged) to be applied right after it: each
/// kept event's stored JSON, its collected facts and items, its source and sequence number.
/// </summary>
internal sealed class DeferredCommits
{
    private const int SegmentBytes = 1 << 20;

    private readonly List<byte[]> _segments = [];
    private int _used;
    private readonly List<Entry> _entries = [];
    private readonly List<CollectedItem> _items = [];

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
                foreach (var item in batch.Items.Slice(f.FirstItem, f.ItemCount))
                {
                    _items.Add(item);
                }
                _entries.Add(new Entry(segment, offset, json.Length, f, firstItem, batch.SourceSystem, seq++));
            }
        }
    }

    /// <summary>Applies the copied events of request batch <paramref name="batch"/>, in order. Call under the projection's write lock.</summary>
    public void ApplyBatch(KpiProjection projection, int batch)
    {
        var items = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_items);
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
            _segments.Add(new byte[Math.Max(SegmentBytes, length)]);
            _used = 0;
        }
        var at = _used;
        _used += length;
        return (_segments[^1], at);
    }

    private readonly record struct Entry(byte[] Segment, int Offset, int Length, CollectedFacts Facts, int FirstItem, string SourceSystem, long Seq);
}
