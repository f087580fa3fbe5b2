using System.Numerics;
using System.Runtime.InteropServices;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// New customers, returning customers and LTV's sums of a grouped or filtered query (weekly by
/// country, a country's dashboard) for one grouping and period grid, from the counted purchases
/// before <see cref="Position"/> that fall before the grid's end, kept between queries by
/// <see cref="KeptTallies{T}"/>. <see cref="CustomerTally"/> serves a question over everything from
/// the projection's per-user first orders; a group has no such history, so this tally reads every
/// purchase once and then only those appended. Per (group key, user), a set of slots: "before the
/// range" and each period they ordered in; the lowest slot is where they became the group's
/// customer, the others where they returned. Per group key and slot it keeps those two counts and
/// the GMV, updated as each set grows. Purchases are only appended (a change to an older one bumps
/// <see cref="KindColumns.Revision"/> and the tally is counted anew), and an appended purchase can
/// only add a slot to a set, so carrying the tally on gives the full pass's counts. Its GMV sums
/// add the same purchases in the same (column) order as the full pass, so they are bit for bit
/// the same. At 10M events, counting every purchase per call was the floor of the weekly
/// non-additive question by country (docs/benchmarks.md).
/// </summary>
internal sealed class GroupCustomerTally
{
    /// <summary>The slots a set can hold: "before the range" and up to 63 periods.</summary>
    public const int MaxSlots = 64;

    private readonly long[] _bounds;
    private readonly int _span;
    /// <summary>Per user, the group key of their first counted purchase + 1 (0: none yet) and its slots.</summary>
    private Member[] _members = [];
    /// <summary>Per (group key &lt;&lt; 32 | user), the slots of a user in a second or later group key (rare: shoppers stay in their country).</summary>
    private readonly Dictionary<long, ulong> _otherKeys = [];
    private long[] _firsts = [];
    private long[] _returning = [];
    private double[] _gmv = [];
    private bool[] _hasOrders = [];

    private struct Member
    {
        public int KeyPlusOne;
        public ulong Slots;
    }

    /// <param name="bounds">The grid's bounds: period p is [bounds[p], bounds[p + 1]).</param>
    public GroupCustomerTally(KindColumns columns, long[] bounds)
    {
        if (bounds.Length > MaxSlots)
        {
            throw new ArgumentOutOfRangeException(nameof(bounds), $"at most {MaxSlots - 1} periods");
        }
        Columns = columns;
        Revision = columns.Revision;
        _bounds = bounds;
        _span = bounds.Length;
    }

    public KindColumns Columns { get; }

    public int Revision { get; }

    /// <summary>Purchases before this position are counted.</summary>
    public int Position { get; private set; }

    /// <summary>Group key numbers 0 .. KeyCount - 1 may have orders (<see cref="HasOrders"/> says which do).</summary>
    public int KeyCount { get; private set; }

    /// <summary>The key of a tally: the grouping (group_by, filters, scope) and the grid's bounds.</summary>
    public static string Key(string grouping, long[] bounds) => $"{grouping}|{string.Join(',', bounds)}";

    /// <summary>Whether this tally can be carried on for <paramref name="columns"/> as they are now.</summary>
    public bool Holds(KindColumns columns) => ReferenceEquals(columns, Columns) && columns.Revision == Revision && columns.Count >= Position;

    /// <summary>
    /// Adds the counted purchases appended since the last call. <paramref name="keyOfCombo"/>: a
    /// combination's group key number, -1 when it does not match. <paramref name="users"/>: how
    /// many user ids there are (ids are below it).
    /// </summary>
    public void CountUpTo(Func<int, int> keyOfCombo, int users)
    {
        var columns = Columns;
        var ts = columns.Ts;
        var combos = columns.Combo;
        var userOf = columns.User;
        var amounts = columns.Amount;
        var counted = columns.Counted;
        var start = _bounds[0];
        var end = _bounds[^1];
        if (_members.Length < users)
        {
            Array.Resize(ref _members, Math.Max(users, _members.Length + (_members.Length / 2)));
        }
        var period = 0;
        foreach (var (block, length) in columns.BlocksIn(long.MinValue, end, Position))
        {
            for (var k = block; k < block + length; k++)
            {
                var t = ts[k];
                if (!counted[k] || t >= end)
                {
                    continue;
                }
                var key = keyOfCombo(combos[k]);
                if (key < 0)
                {
                    continue;
                }
                var slot = 0;
                if (t >= start)
                {
                    if (t < _bounds[period] || t >= _bounds[period + 1])
                    {
                        period = Array.BinarySearch(_bounds, t);
                        period = period >= 0 ? period : ~period - 1;
                    }
                    slot = period + 1;
                }
                EnsureKey(key);
                _hasOrders[key] = true;
                _gmv[(key * _span) + slot] += amounts[k];
                var user = userOf[k];
                if (user != 0)
                {
                    Note(key, user, 1UL << slot);
                }
            }
        }
        Position = columns.Count;
    }

    /// <summary>Adds a slot to one user's set in one group key, moving their counts when the set grows.</summary>
    private void Note(int key, int user, ulong bit)
    {
        ref var member = ref _members[user];
        ref var slots = ref member.Slots;
        if (member.KeyPlusOne == 0)
        {
            member.KeyPlusOne = key + 1;
        }
        else if (member.KeyPlusOne != key + 1)
        {
            slots = ref CollectionsMarshal.GetValueRefOrAddDefault(_otherKeys, ((long)key << 32) | (uint)user, out _);
        }
        var before = slots;
        var after = before | bit;
        if (after == before)
        {
            return;
        }
        slots = after;
        if (before != 0)
        {
            Tally(key, before, -1);
        }
        Tally(key, after, 1);
    }

    /// <summary>Adds (or takes away, <paramref name="sign"/> -1) one user's slots to a group key's counts.</summary>
    private void Tally(int key, ulong slots, int sign)
    {
        var row = key * _span;
        _firsts[row + BitOperations.TrailingZeroCount(slots)] += sign;
        for (var later = slots & (slots - 1); later != 0; later &= later - 1)
        {
            _returning[row + BitOperations.TrailingZeroCount(later)] += sign;
        }
    }

    private void EnsureKey(int key)
    {
        KeyCount = Math.Max(KeyCount, key + 1);
        if (key < _hasOrders.Length)
        {
            return;
        }
        var keys = Math.Max(key + 1, _hasOrders.Length * 2);
        Array.Resize(ref _hasOrders, keys);
        Array.Resize(ref _firsts, keys * _span);
        Array.Resize(ref _returning, keys * _span);
        Array.Resize(ref _gmv, keys * _span);
    }

    /// <summary>Whether group key <paramref name="key"/> has a counted purchase before the grid's end.</summary>
    public bool HasOrders(int key) => _hasOrders[key];

    /// <summary>Of group key <paramref name="key"/>, per slot (0: before the range, p + 1: period p): users who became its customers there.</summary>
    public ReadOnlySpan<long> Firsts(int key) => _firsts.AsSpan(key * _span, _span);

    /// <summary>Per slot: users with a counted purchase there that is not their first in the group key.</summary>
    public ReadOnlySpan<long> Returning(int key) => _returning.AsSpan(key * _span, _span);

    /// <summary>Per slot: the GMV of the group key's counted purchases there.</summary>
    public ReadOnlySpan<double> Gmv(int key) => _gmv.AsSpan(key * _span, _span);
}
