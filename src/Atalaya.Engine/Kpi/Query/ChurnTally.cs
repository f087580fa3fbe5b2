using System.Runtime.InteropServices;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// customer_churn_rate's or store_churn_rate's state for one set of interval cuts and one grouping,
/// from the counted purchases before <see cref="Position"/>, kept between queries by
/// <see cref="KeptTallies{T}"/>: per (member, group key) the intervals the member (a customer, or the
/// store that sold) had an order in, and per group key and period the members of the previous
/// window and those of them missing from the current one, updated as each mask grows. Purchases
/// are only appended (a change to an older one bumps <see cref="KindColumns.Revision"/> and the
/// tally is counted anew), so the next query adds the purchases written since. Under ingest the
/// summary's nine days gain thousands of orders a second; passing over all of them on every call
/// was a fifth of the hub's CPU at 20,000 events/s of writes (customer churn; store churn read the
/// hourly rollup's entries, 6 %). Exact: a tally answers only for the columns and revision it was
/// counted from.
/// </summary>
internal sealed class ChurnTally
{
    private readonly long[] _cuts;
    private readonly ulong[] _currentMask;
    private readonly ulong[] _previousMask;
    private readonly int _periods;
    private readonly ComboTable? _stores;
    /// <summary>Per (group key &lt;&lt; 32 | member), the intervals with a counted order.</summary>
    private readonly Dictionary<long, ulong> _masks = [];
    /// <summary>Per group key × period: members in the previous window; of those, members not in the current one.</summary>
    private long[] _previous = [];
    private long[] _churned = [];

    /// <param name="cuts">The elementary intervals' bounds, ascending (at most 65).</param>
    /// <param name="currentMask">Per period, the intervals of its window.</param>
    /// <param name="previousMask">Per period, the intervals of its previous window.</param>
    /// <param name="stores">The stores of the combinations, for store churn; null for customer churn (the purchases' users).</param>
    public ChurnTally(KindColumns columns, ComboTable? stores, long[] cuts, ulong[] currentMask, ulong[] previousMask)
    {
        Columns = columns;
        _stores = stores;
        Revision = columns.Revision;
        _cuts = cuts;
        _currentMask = currentMask;
        _previousMask = previousMask;
        _periods = currentMask.Length;
    }

    public KindColumns Columns { get; }

    public int Revision { get; }

    /// <summary>Purchases before this position are counted.</summary>
    public int Position { get; private set; }

    /// <summary>Group keys seen so far: numbers 0 .. KeyCount - 1.</summary>
    public int KeyCount => _previous.Length / _periods;

    /// <summary>Whether this tally can be carried on for <paramref name="columns"/> as they are now.</summary>
    public bool Holds(KindColumns columns) => ReferenceEquals(columns, Columns) && columns.Revision == Revision && columns.Count >= Position;

    /// <summary>The key of a tally: customers or stores, the grouping, the cuts and each period's two windows over them.</summary>
    public static string Key(bool customers, string grouping, long[] cuts, ulong[] currentMask, ulong[] previousMask) =>
        $"{(customers ? 'c' : 's')}|{grouping}|{string.Join(',', cuts)}|{string.Join(',', currentMask)}|{string.Join(',', previousMask)}";

    /// <summary>Adds the counted purchases appended since the last call. <paramref name="keyOfCombo"/>: a combination's group key number, -1 when it does not match.</summary>
    public void CountUpTo(Func<int, int> keyOfCombo)
    {
        var columns = Columns;
        var ts = columns.Ts;
        var combos = columns.Combo;
        var counted = columns.Counted;
        var users = columns.User;
        var from = _cuts[0];
        var to = _cuts[^1];
        var interval = 0;
        foreach (var (start, length) in columns.BlocksIn(from, to, Position))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = ts[k];
                if (t < from || t >= to || !counted[k])
                {
                    continue;
                }
                var member = _stores is null ? users[k] : _stores[combos[k]].Store;
                var key = member == 0 ? -1 : keyOfCombo(combos[k]);
                if (key < 0)
                {
                    continue;
                }
                if (t < _cuts[interval] || t >= _cuts[interval + 1])
                {
                    interval = Array.BinarySearch(_cuts, t);
                    interval = interval >= 0 ? interval : ~interval - 1;
                }
                Note(key, member, interval);
            }
        }
        Position = columns.Count;
    }

    private void Note(int key, int member, int interval)
    {
        ref var mask = ref CollectionsMarshal.GetValueRefOrAddDefault(_masks, ((long)key << 32) | (uint)member, out _);
        var before = mask;
        var after = before | (1UL << interval);
        if (after == before)
        {
            return;
        }
        mask = after;
        if ((key + 1) * _periods > _previous.Length)
        {
            var size = Math.Max((key + 1) * _periods, _previous.Length * 2);
            Array.Resize(ref _previous, size);
            Array.Resize(ref _churned, size);
        }
        Tally(key, before, -1);
        Tally(key, after, 1);
    }

    /// <summary>Adds (or takes away, <paramref name="sign"/> -1) one member's intervals to the key's counts.</summary>
    private void Tally(int key, ulong mask, int sign)
    {
        for (var p = 0; p < _periods; p++)
        {
            if ((mask & _previousMask[p]) != 0)
            {
                _previous[(key * _periods) + p] += sign;
                if ((mask & _currentMask[p]) == 0)
                {
                    _churned[(key * _periods) + p] += sign;
                }
            }
        }
    }

    /// <summary>Members of key <paramref name="key"/>'s previous window of period <paramref name="period"/>, and of them those gone in its current one.</summary>
    public (long Previous, long Churned) Counts(int key, int period) =>
        (_previous[(key * _periods) + period], _churned[(key * _periods) + period]);
}
