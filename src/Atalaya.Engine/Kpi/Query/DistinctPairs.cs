namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Exact distinct counts of values (users, stores) per cell. A per-value "last cell" stamp drops
/// the common repeats (the same user again in the same cell) without hashing; what is left is
/// sorted once and counted. Exact, never estimated.
/// </summary>
internal sealed class DistinctPairs
{
    private readonly int[] _lastCell;
    private long[] _pairs = new long[4096];
    private int _count;

    /// <param name="cardinality">Values are 1..cardinality-1.</param>
    public DistinctPairs(int cardinality) => _lastCell = new int[cardinality];

    public void Add(int cell, int value)
    {
        ref var last = ref _lastCell[value];
        if (last == cell + 1)
        {
            return;
        }
        last = cell + 1;
        if (_count == _pairs.Length)
        {
            Array.Resize(ref _pairs, _count * 2);
        }
        _pairs[_count++] = ((long)cell << 32) | (uint)value;
    }

    /// <summary>Calls <paramref name="add"/> once per cell with its distinct count.</summary>
    public void Count(Action<int, long> add)
    {
        var pairs = _pairs.AsSpan(0, _count);
        pairs.Sort();
        var i = 0;
        while (i < pairs.Length)
        {
            var cell = (int)(pairs[i] >> 32);
            long distinct = 0;
            var previous = long.MinValue;
            while (i < pairs.Length && (int)(pairs[i] >> 32) == cell)
            {
                if (pairs[i] != previous)
                {
                    distinct++;
                    previous = pairs[i];
                }
                i++;
            }
            add(cell, distinct);
        }
    }
}
