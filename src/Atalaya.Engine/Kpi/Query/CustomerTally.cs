using System.Numerics;
using System.Runtime.InteropServices;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// New customers, returning customers and LTV's sums of a query over everything (no filter, scope
/// or group_by) for one period grid, from the counted purchases before <see cref="Position"/>,
/// kept between queries by <see cref="KeptTallies{T}"/>. Per user, a set of slots: "before the
/// range" (their first counted purchase is earlier than its start), each period they ordered in,
/// and "after the range"; the lowest slot is where they became a customer, the others where they
/// returned. Per slot the tally keeps how many users became customers there, how many returned
/// there, and the GMV, updated as each user's set grows. Purchases are only appended (a change to
/// an older one bumps <see cref="KindColumns.Revision"/> and the tally is counted anew); an
/// appended purchase before the range can only move its user's first order earlier, which sets the
/// user's "before" slot. Under ingest the summary's eight days gain thousands of orders a second,
/// and passing over all of them per user on every call was most of the summary's time once the
/// written days held millions of events (docs/benchmarks.md, "Reads under write load"). Exact: a
/// tally answers only for the columns and revision it was counted from.
/// </summary>
internal sealed class CustomerTally
{
    private readonly long[] _bounds;
    private readonly int _after;
    /// <summary>Per user, the slots: bit 0 before the range, 1..periods, periods + 1 after it.</summary>
    private readonly Dictionary<int, ulong> _slots = [];

    public CustomerTally(KindColumns columns, long[] bounds)
    {
        Columns = columns;
        Revision = columns.Revision;
        _bounds = bounds;
        _after = bounds.Length;
        Firsts = new long[bounds.Length + 1];
        Returning = new long[bounds.Length + 1];
        Gmv = new double[bounds.Length + 1];
    }

    public KindColumns Columns { get; }

    public int Revision { get; }

    /// <summary>Purchases before this position are counted.</summary>
    public int Position { get; private set; }

    /// <summary>Per slot, the users whose first counted purchase falls there.</summary>
    public long[] Firsts { get; }

    /// <summary>Per slot, the users with a counted purchase there that is not their first.</summary>
    public long[] Returning { get; }

    /// <summary>Per slot (0 unused), the GMV of the counted purchases there.</summary>
    public double[] Gmv { get; }

    /// <summary>Users whose first counted purchase is in the range or after it.</summary>
    public long FromRange { get; private set; }

    /// <summary>Whether any counted purchase falls in the range.</summary>
    public bool HasOrders { get; private set; }

    /// <summary>The key of a tally: the grid's bounds (its periods and the gaps between windows).</summary>
    public static string Key(long[] bounds) => string.Join(',', bounds);

    /// <summary>Whether this tally can be carried on for <paramref name="columns"/> as they are now.</summary>
    public bool Holds(KindColumns columns) => ReferenceEquals(columns, Columns) && columns.Revision == Revision && columns.Count >= Position;

    /// <summary>Adds the counted purchases appended since the last call.</summary>
    public void CountUpTo(CustomerHistory history)
    {
        var columns = Columns;
        var ts = columns.Ts;
        var users = columns.User;
        var amounts = columns.Amount;
        var counted = columns.Counted;
        var start = _bounds[0];
        var end = _bounds[^1];
        // The first count reads the range and after it only: a user's purchases before it are in
        // the history's first order, looked up when the user is first seen. Later counts read every
        // appended purchase, since one before the range may move a seen user's first order there.
        foreach (var (block, length) in columns.BlocksIn(Position == 0 ? start : long.MinValue, long.MaxValue, Position))
        {
            for (var k = block; k < block + length; k++)
            {
                if (!counted[k])
                {
                    continue;
                }
                var t = ts[k];
                var user = users[k];
                if (t < start)
                {
                    // Its user's first order is now before the range; a user not seen yet gets the
                    // slot from the history when first seen in the range.
                    if (user != 0 && _slots.TryGetValue(user, out var seen))
                    {
                        Note(user, seen | 1UL);
                    }
                    continue;
                }
                var slot = _after;
                if (t < end)
                {
                    var i = Array.BinarySearch(_bounds, t);
                    slot = (i >= 0 ? i : ~i - 1) + 1;
                    HasOrders = true;
                }
                Gmv[slot] += amounts[k];
                if (user == 0)
                {
                    continue;
                }
                // One lookup a purchase: a user seen for the first time gets their "before" slot from
                // the history's first order in the same update.
                ref var mask = ref CollectionsMarshal.GetValueRefOrAddDefault(_slots, user, out var known);
                var before = mask;
                var after = before | (1UL << slot) | (!known && history.FirstOrder(user) < start ? 1UL : 0UL);
                if (after != before)
                {
                    mask = after;
                    Retally(before, after);
                }
            }
        }
        Position = columns.Count;
    }

    /// <summary>Sets a seen user's slots to <paramref name="after"/> (a superset of what they were).</summary>
    private void Note(int user, ulong after)
    {
        ref var mask = ref CollectionsMarshal.GetValueRefOrNullRef(_slots, user);
        if (mask != after)
        {
            var before = mask;
            mask = after;
            Retally(before, after);
        }
    }

    /// <summary>Moves one user's counts from the slots <paramref name="before"/> (none when 0) to <paramref name="after"/>.</summary>
    private void Retally(ulong before, ulong after)
    {
        if (before != 0)
        {
            Tally(before, -1);
        }
        Tally(after, 1);
    }

    /// <summary>Adds (or takes away, <paramref name="sign"/> -1) one user's slots to the counts.</summary>
    private void Tally(ulong mask, int sign)
    {
        var first = BitOperations.TrailingZeroCount(mask);
        Firsts[first] += sign;
        if (first > 0)
        {
            FromRange += sign;
        }
        for (var later = mask & (mask - 1); later != 0; later &= later - 1)
        {
            Returning[BitOperations.TrailingZeroCount(later)] += sign;
        }
    }
}
