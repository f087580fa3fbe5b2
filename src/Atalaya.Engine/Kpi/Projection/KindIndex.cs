namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// For each <see cref="EventKind"/>, the projection indexes of its catalog events in storage order,
/// so that a KPI over orders or payments touches those events only (a few percent of all events)
/// instead of scanning every event of the range. Blocks of entries carry their time range (zone
/// maps), so a range query skips the blocks outside it.
/// </summary>
public sealed class KindIndex
{
    /// <summary>Entries per zone-map block.</summary>
    public const int Block = 1024;

    private static readonly int KindCount = Enum.GetValues<EventKind>().Length;

    private readonly int[][] _entries = new int[KindCount][];
    private readonly int[] _counts = new int[KindCount];
    private readonly long[][] _blockMin = new long[KindCount][];
    private readonly long[][] _blockMax = new long[KindCount][];

    public KindIndex()
    {
        for (var k = 0; k < KindCount; k++)
        {
            _entries[k] = new int[256];
            _blockMin[k] = new long[4];
            _blockMax[k] = new long[4];
        }
    }

    public ReadOnlySpan<int> Of(EventKind kind) => _entries[(int)kind].AsSpan(0, _counts[(int)kind]);

    public void Add(EventKind kind, int index, long ts)
    {
        var k = (int)kind;
        ref var entries = ref _entries[k];
        ref var count = ref _counts[k];
        if (count == entries.Length)
        {
            Array.Resize(ref entries, count + Math.Max(256, count / 2));
        }
        var block = count / Block;
        if (block == _blockMin[k].Length)
        {
            Array.Resize(ref _blockMin[k], block * 2);
            Array.Resize(ref _blockMax[k], block * 2);
        }
        if (count % Block == 0)
        {
            _blockMin[k][block] = ts;
            _blockMax[k][block] = ts;
        }
        else
        {
            _blockMin[k][block] = Math.Min(_blockMin[k][block], ts);
            _blockMax[k][block] = Math.Max(_blockMax[k][block], ts);
        }
        entries[count++] = index;
    }

    /// <summary>The entries of <paramref name="kind"/> in the blocks that may hold an event in [from, to).</summary>
    public IEnumerable<(int Start, int Length)> BlocksIn(EventKind kind, long from, long to)
    {
        var k = (int)kind;
        var count = _counts[k];
        for (var start = 0; start < count; start += Block)
        {
            var block = start / Block;
            if (_blockMax[k][block] >= from && _blockMin[k][block] < to)
            {
                yield return (start, Math.Min(Block, count - start));
            }
        }
    }
}
