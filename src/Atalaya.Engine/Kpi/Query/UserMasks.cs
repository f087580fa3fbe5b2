using System.Buffers;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Exact distinct users per cell when a query has at most 64 cells (a summary's 8 days, a week of
/// days by country): one 64-bit set of cells per user, so each event costs one OR and nothing is
/// sorted. The per-user array (8 bytes × users) is pooled and handed back cleared: only the users
/// touched are reset, so a query does not pay for clearing or allocating it.
/// </summary>
internal sealed class UserMasks : IDisposable
{
    public const int MaxCells = 64;

    private static readonly ArrayPool<ulong> Pool = ArrayPool<ulong>.Create(1 << 28, 4);

    private readonly ulong[] _masks;
    private int[] _touched = ArrayPool<int>.Shared.Rent(1 << 14);
    private int _count;

    /// <param name="cardinality">Users are 1..cardinality-1.</param>
    public UserMasks(int cardinality) => _masks = Pool.Rent(cardinality);

    /// <summary>The users with at least one cell, in order of first sight.</summary>
    public ReadOnlySpan<int> Users => _touched.AsSpan(0, _count);

    public ulong this[int user] => _masks[user];

    public void Add(int user, int cell)
    {
        ref var mask = ref _masks[user];
        if (mask == 0)
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
        mask |= 1UL << cell;
    }

    /// <summary>Distinct users per cell.</summary>
    public long[] CountPerCell()
    {
        var counts = new long[MaxCells];
        foreach (var user in Users)
        {
            for (var m = _masks[user]; m != 0; m &= m - 1)
            {
                counts[System.Numerics.BitOperations.TrailingZeroCount(m)]++;
            }
        }
        return counts;
    }

    public void Dispose()
    {
        foreach (var user in Users)
        {
            _masks[user] = 0;
        }
        _count = 0;
        Pool.Return(_masks);
        ArrayPool<int>.Shared.Return(_touched);
    }
}
