using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

// store_churn_rate and customer_churn_rate: who sold or bought in the previous period and not in this one.
internal sealed partial class KpiEvaluator
{
    /// <summary>
    /// store_churn_rate: stores with an order in the previous whole period and none in this one.
    /// Every period's window and its previous window are cut into the elementary intervals their
    /// boundaries make (9 for a summary's 8 days); one pass over the counted purchases from the
    /// earliest previous window sets, per (group, store), a bit for each interval it sold in, and
    /// each period then reads its windows as two masks. The pass is kept from query to query
    /// (<see cref="ChurnFromTally"/>) unless the query reads the events alone (tests compare the
    /// two). Grids with more than 64 intervals take the per-group lists.
    /// </summary>
    /// <param name="customers">Customer churn (users who ordered) instead of store churn (stores that sold).</param>
    private void EvaluateChurn(bool customers)
    {
        var cuts = _grid.Bounds.Concat(_grid.PreviousStart).Concat(_grid.PreviousEnd).Distinct().Order().ToArray();
        if (cuts.Length - 1 > 64)
        {
            EvaluateChurnByLists(customers);
            return;
        }
        var periods = _grid.Count;
        var currentMask = new ulong[periods];
        var previousMask = new ulong[periods];
        for (var p = 0; p < periods; p++)
        {
            currentMask[p] = IntervalMask(cuts, _grid.Bounds[p], _grid.Bounds[p + 1]);
            previousMask[p] = IntervalMask(cuts, _grid.PreviousStart[p], _grid.PreviousEnd[p]);
        }
        if (UseRollup)
        {
            ChurnFromTally(customers, cuts, currentMask, previousMask);
            return;
        }
        var from = cuts[0];
        var to = cuts[^1];
        var columns = _projection.Kinds[EventKind.PurchaseCompleted];
        var ts = columns.Ts;
        var combos = columns.Combo;
        var counted = columns.Counted;
        var users = columns.User;
        var comboCells = ComboCells();
        // Per (group, store or user), the intervals with an order: a member's first group in an
        // array, as for distinct visitors (a dictionary of (group, member) keys was half of the
        // summary's time under ingest).
        var cardinality = (customers ? _projection.Pools.Users.Count : _projection.Pools.Stores.Count) + 1;
        using var active = new GroupMasks<ulong>(cardinality, cuts.Length - 1);
        var interval = 0;
        foreach (var (start, length) in columns.BlocksIn(from, to))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = ts[k];
                if (t < from || t >= to || !counted[k])
                {
                    continue;
                }
                var cell = comboCells[combos[k]];
                if (cell == UnknownCell)
                {
                    cell = comboCells[combos[k]] = ComboCell(combos[k]);
                }
                var member = customers ? users[k] : _projection.Combos[combos[k]].Store;
                if (cell < 0 || member == 0)
                {
                    continue;
                }
                if (t < cuts[interval] || t >= cuts[interval + 1])
                {
                    interval = Array.BinarySearch(cuts, t);
                    interval = interval >= 0 ? interval : ~interval - 1;
                }
                active.Add(member, cell / periods, interval);
            }
        }
        var groups = _scope.GroupCount;
        var previous = new long[groups * periods];
        var churned = new long[groups * periods];
        var seen = new bool[groups];
        active.ForEach((group, mask) =>
        {
            seen[group] = true;
            for (var p = 0; p < periods; p++)
            {
                if ((mask & previousMask[p]) != 0)
                {
                    previous[(group * periods) + p]++;
                    if ((mask & currentMask[p]) == 0)
                    {
                        churned[(group * periods) + p]++;
                    }
                }
            }
        });
        for (var group = 0; group < groups; group++)
        {
            if (!seen[group])
            {
                continue;
            }
            var cells = CellsOf(group);
            for (var p = 0; p < periods; p++)
            {
                if (previous[(group * periods) + p] > 0)
                {
                    var rate = 100.0 * churned[(group * periods) + p] / previous[(group * periods) + p];
                    (customers ? ref cells[p].CustomerChurn : ref cells[p].Churn) = rate;
                }
            }
        }
    }

    /// <summary>
    /// Churn through the projection's <see cref="KeptTallies{T}"/>: the tally of this grouping and
    /// these cuts is carried on over the purchases appended since it was last asked (counted anew
    /// when an older purchase changed), then read per group key and period.
    /// </summary>
    private void ChurnFromTally(bool customers, long[] cuts, ulong[] currentMask, ulong[] previousMask)
    {
        var columns = _projection.Kinds[EventKind.PurchaseCompleted];
        var keyOfCombo = _scratch.Ints(_projection.Combos.Count, UnknownCell);
        int KeyOf(int combo)
        {
            var key = keyOfCombo[combo];
            return key != UnknownCell ? key : keyOfCombo[combo] = _scope.KeyNumberOfCombo(combo);
        }
        var holder = _projection.Churn.For(ChurnTally.Key(customers, _scope.GroupingKey, cuts, currentMask, previousMask));
        lock (holder.Gate)
        {
            if (holder.Tally is not { } tally || !tally.Holds(columns))
            {
                tally = holder.Tally = new ChurnTally(columns, customers ? null : _projection.Combos, cuts, currentMask, previousMask);
            }
            tally.CountUpTo(KeyOf);
            for (var key = 0; key < tally.KeyCount; key++)
            {
                for (var p = 0; p < _grid.Count; p++)
                {
                    var (previous, churned) = tally.Counts(key, p);
                    if (previous > 0)
                    {
                        var rate = 100.0 * churned / previous;
                        ref var cell = ref CellsOf(_scope.GroupOfKeyNumber(key))[p];
                        (customers ? ref cell.CustomerChurn : ref cell.Churn) = rate;
                    }
                }
            }
        }
    }

    /// <summary>The elementary intervals (between consecutive <paramref name="cuts"/>) that make up [from, to).</summary>
    private static ulong IntervalMask(long[] cuts, long from, long to)
    {
        ulong mask = 0;
        for (var i = 0; i < cuts.Length - 1; i++)
        {
            if (cuts[i] >= from && cuts[i + 1] <= to)
            {
                mask |= 1UL << i;
            }
        }
        return mask;
    }

    /// <summary>store_churn_rate from each group's time-ordered order list (any number of periods).</summary>
    private void EvaluateChurnByLists(bool customers)
    {
        var from = _grid.PreviousStart.Min();
        foreach (var (group, orders) in Collect(EventKind.PurchaseCompleted, from, _grid.End, customers ? FactValue.User : FactValue.Store, countedOnly: true))
        {
            var cells = CellsOf(group);
            var times = orders.Select(o => o.Ts).ToArray();
            for (var p = 0; p < _grid.Count; p++)
            {
                var previous = StoresBetween(orders, times, _grid.PreviousStart[p], _grid.PreviousEnd[p]);
                if (previous.Count == 0)
                {
                    continue;
                }
                var current = StoresBetween(orders, times, _grid.Bounds[p], _grid.Bounds[p + 1]);
                (customers ? ref cells[p].CustomerChurn : ref cells[p].Churn) = 100.0 * previous.Count(s => !current.Contains(s)) / previous.Count;
            }
        }
    }

    private static HashSet<int> StoresBetween(List<Fact> orders, long[] times, long from, long to)
    {
        var set = new HashSet<int>();
        var i = Array.BinarySearch(times, from);
        if (i < 0)
        {
            i = ~i;
        }
        while (i > 0 && times[i - 1] >= from)
        {
            i--;
        }
        for (; i < orders.Count && times[i] < to; i++)
        {
            if (orders[i].Value != 0)
            {
                set.Add(orders[i].Value);
            }
        }
        return set;
    }
}
