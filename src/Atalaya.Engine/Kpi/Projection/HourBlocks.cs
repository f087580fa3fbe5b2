namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// The earliest and latest hour of each block of <see cref="Size"/> entries of an append-only,
/// roughly time-ordered table (the hour rollup, the visit log). A query for some hours then reads
/// only the blocks that can hold them: late events land in later blocks, so their ranges widen, but
/// nothing is ever missed. Not persisted: rebuilt from the entries' hours when a snapshot is read.
/// </summary>
internal sealed class HourBlocks(int size)
{
    private int[] _min = new int[4];
    private int[] _max = new int[4];

    public int Size { get; } = size;

    /// <summary>Records the hour of entry <paramref name="index"/>, appended after every earlier one.</summary>
    public void Note(int index, int hour)
    {
        var block = index / Size;
        if (block == _min.Length)
        {
            Array.Resize(ref _min, block * 2);
            Array.Resize(ref _max, block * 2);
        }
        var first = index % Size == 0;
        _min[block] = first ? hour : Math.Min(_min[block], hour);
        _max[block] = first ? hour : Math.Max(_max[block], hour);
    }

    /// <summary>The blocks of the first <paramref name="count"/> entries that may hold an hour in [fromHour, toHour).</summary>
    public IEnumerable<(int Start, int Length)> In(int count, int fromHour, int toHour)
    {
        for (var start = 0; start < count; start += Size)
        {
            var block = start / Size;
            if (_max[block] >= fromHour && _min[block] < toHour)
            {
                yield return (start, Math.Min(Size, count - start));
            }
        }
    }

    /// <summary>Rebuilds the ranges of <paramref name="count"/> entries from their hours.</summary>
    public void Rebuild(int count, Func<int, int> hourOf)
    {
        var blocks = (count + Size - 1) / Size;
        _min = new int[Math.Max(4, blocks + 1)];
        _max = new int[Math.Max(4, blocks + 1)];
        for (var e = 0; e < count; e++)
        {
            Note(e, hourOf(e));
        }
    }
}
