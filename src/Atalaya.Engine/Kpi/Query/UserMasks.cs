using System.Buffers;
using System.Numerics;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Exact distinct users per cell when a query has at most 64 cells (a summary's 8 days, a week of
/// days by country): one set of cells per user, as an integer of just enough bits (a byte for 8
/// cells), so each event costs one OR into a small array that stays in cache and nothing is
/// sorted. The per-user array comes from a pool of zeroed arrays (<see cref="ZeroedArrays{T}"/>) and
/// is handed back cleared: only the users touched are reset, so a query pays neither for allocating
/// nor for clearing it.
/// </summary>
internal sealed class UserMasks<T> : IDisposable where T : unmanaged, IBinaryInteger<T>
{
    public static readonly int MaxCells = T.AllBitsSet.GetByteCount() * 8;


    private readonly T[] _masks;
    private int[] _touched = ArrayPool<int>.Shared.Rent(1 << 14);
    private int _count;

    /// <param name="cardinality">Users are 1..cardinality-1.</param>
    public UserMasks(int cardinality) => _masks = ZeroedArrays<T>.Rent(cardinality);

    /// <summary>The users with at least one cell, in order of first sight.</summary>
    public ReadOnlySpan<int> Users => _touched.AsSpan(0, _count);

    public ulong this[int user] => ulong.CreateTruncating(_masks[user]);

    public void Add(int user, int cell)
    {
        ref var mask = ref _masks[user];
        if (T.IsZero(mask))
        {
            if (_count == _touched.Length)
            {
                var larger = ArrayPool<int>.Shared.Rent(_count * 2);
                _touched.AsSpan(0, _count).CopyTo(larger);
                ArrayPool<int>.Shared.Return(_touched);
                _touched = larger;
            }
            _touched[_count++] = user;
        }
        mask |= T.One << cell;
    }

    /// <summary>Distinct users per cell.</summary>
    public long[] CountPerCell()
    {
        var counts = new long[MaxCells];
        foreach (var user in Users)
        {
            for (var m = this[user]; m != 0; m &= m - 1)
            {
                counts[BitOperations.TrailingZeroCount(m)]++;
            }
        }
        return counts;
    }

    public void Dispose()
    {
        foreach (var user in Users)
        {
            _masks[user] = T.Zero;
        }
        _count = 0;
        ZeroedArrays<T>.Return(_masks);
        ArrayPool<int>.Shared.Return(_touched);
    }
}
