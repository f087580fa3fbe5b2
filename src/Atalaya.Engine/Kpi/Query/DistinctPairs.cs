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

    /// <summary>
    /// LSD radix sort, 11 bits a pass over the bits in use: several times faster than a
    /// comparison sort for the hundreds of thousands of pairs a visitors query produces.
    /// </summary>
    private static void RadixSort(Span<long> keys)
    {
        if (keys.Length < 2048)
        {
            keys.Sort();
            return;
        }
        long all = 0;
        foreach (var k in keys)
        {
            all |= k;
        }
        var bits = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)all);
        var buffer = new long[keys.Length];
        Span<long> from = keys, to = buffer;
        var counts = new int[1 << 11];
        var passes = 0;
        for (var shift = 0; shift < bits; shift += 11, passes++)
        {
            Array.Clear(counts);
            foreach (var k in from)
            {
                counts[(int)((k >> shift) & 0x7FF)]++;
            }
            var sum = 0;
            for (var d = 0; d < counts.Length; d++)
            {
                var c = counts[d];
                counts[d] = sum;
                sum += c;
            }
            foreach (var k in from)
            {
                to[counts[(int)((k >> shift) & 0x7FF)]++] = k;
            }
            var swap = from;
            from = to;
            to = swap;
        }
        if (passes % 2 == 1)
        {
            from.CopyTo(keys);
        }
    }

    /// <summary>Calls <paramref name="add"/> once per cell with its distinct count.</summary>
    public void Count(Action<int, long> add)
    {
        var pairs = _pairs.AsSpan(0, _count);
        RadixSort(pairs);
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
