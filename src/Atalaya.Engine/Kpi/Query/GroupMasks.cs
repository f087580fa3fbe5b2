using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Exact distinct users per group × period when there are too many cells for <see cref="UserMasks{T}"/>
/// (weekly visitors by country: 14 weeks × 5 groups) but at most 32 periods: per user, the group
/// they were first seen in and a bit per period. A user is nearly always seen in one group (a
/// shopper stays in their country); the periods of any other group they show up in go to a small
/// dictionary. So each (group, period, user) costs one compare and one OR into an array that is
/// pooled and handed back cleared (only the users touched are reset), and nothing is sorted.
/// <typeparamref name="TMask"/> holds a member's periods: <c>uint</c> for up to 32, <c>ulong</c>
/// for up to 64 (churn's intervals).
/// </summary>
internal sealed class GroupMasks<TMask> : IDisposable
    where TMask : unmanaged, IBinaryInteger<TMask>, IUnsignedNumber<TMask>
{
    public static readonly int MaxPeriods = System.Runtime.CompilerServices.Unsafe.SizeOf<TMask>() * 8;

    private Slot[] _slots;
    private readonly int _periods;
    private int[] _touched = ArrayPool<int>.Shared.Rent(1 << 14);
    private int _count;
    private Dictionary<(int User, int Group), TMask>? _otherGroups;

    private struct Slot
    {
        /// <summary>The user's first group + 1 (0: not seen yet).</summary>
        public int GroupPlusOne;
        public TMask Periods;
    }

    /// <param name="cardinality">Users are 1..cardinality-1.</param>
    public GroupMasks(int cardinality, int periods)
    {
        if (periods > MaxPeriods)
        {
            throw new ArgumentOutOfRangeException(nameof(periods), $"at most {MaxPeriods} periods");
        }
        _periods = periods;
        _slots = ZeroedArrays<Slot>.Rent(cardinality);
    }

    /// <summary>Notes that <paramref name="user"/> was seen in (<paramref name="group"/>, <paramref name="period"/>); true when that had not been noted yet.</summary>
    public bool Add(int user, int group, int period)
    {
        var bit = TMask.One << period;
        ref var slot = ref _slots[user];
        if (slot.GroupPlusOne == group + 1)
        {
            var added = (slot.Periods & bit) == TMask.Zero;
            slot.Periods |= bit;
            return added;
        }
        if (slot.GroupPlusOne == 0)
        {
            if (_count == _touched.Length)
            {
                var larger = ArrayPool<int>.Shared.Rent(_count * 2);
                _touched.AsSpan(0, _count).CopyTo(larger);
                ArrayPool<int>.Shared.Return(_touched);
                _touched = larger;
            }
            _touched[_count++] = user;
            slot.GroupPlusOne = group + 1;
            slot.Periods = bit;
            return true;
        }
        _otherGroups ??= ScratchDictionary<(int User, int Group), TMask>.Rent();
        ref var periods = ref CollectionsMarshal.GetValueRefOrAddDefault(_otherGroups, (user, group), out _);
        var isNew = (periods & bit) == TMask.Zero;
        periods |= bit;
        return isNew;
    }

    /// <summary>Makes room for users up to <paramref name="cardinality"/> - 1 (masks kept across queries while users are added).</summary>
    public void EnsureUsers(int cardinality)
    {
        if (cardinality <= _slots.Length)
        {
            return;
        }
        var larger = ZeroedArrays<Slot>.Rent(cardinality);
        _slots.CopyTo(larger, 0);
        foreach (var user in _touched.AsSpan(0, _count))
        {
            _slots[user] = default;
        }
        ZeroedArrays<Slot>.Return(_slots);
        _slots = larger;
    }

    /// <summary>Distinct users per cell (group × periods + period), over <paramref name="groups"/> groups.</summary>
    public long[] CountPerCell(int groups)
    {
        var counts = new long[groups * _periods];
        void Count(int group, TMask periods)
        {
            for (var m = periods; m != TMask.Zero; m &= m - TMask.One)
            {
                counts[(group * _periods) + int.CreateTruncating(TMask.TrailingZeroCount(m))]++;
            }
        }
        foreach (var user in _touched.AsSpan(0, _count))
        {
            Count(_slots[user].GroupPlusOne - 1, _slots[user].Periods);
        }
        foreach (var ((_, group), periods) in _otherGroups ?? [])
        {
            Count(group, periods);
        }
        return counts;
    }

    /// <summary>Each (group, period set) a user was seen with: a user seen in two groups is handed out once per group.</summary>
    public void ForEach(Action<int, TMask> visit)
    {
        foreach (var user in _touched.AsSpan(0, _count))
        {
            visit(_slots[user].GroupPlusOne - 1, _slots[user].Periods);
        }
        foreach (var ((_, group), periods) in _otherGroups ?? [])
        {
            visit(group, periods);
        }
    }

    public void Dispose()
    {
        foreach (var user in _touched.AsSpan(0, _count))
        {
            _slots[user] = default;
        }
        _count = 0;
        ZeroedArrays<Slot>.Return(_slots);
        ArrayPool<int>.Shared.Return(_touched);
        if (_otherGroups is not null)
        {
            ScratchDictionary<(int User, int Group), TMask>.Return(_otherGroups);
            _otherGroups = null;
        }
    }
}
