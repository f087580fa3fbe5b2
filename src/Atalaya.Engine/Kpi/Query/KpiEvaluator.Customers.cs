using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

// new_customers, returning_customers, ltv, customers and repeat_customer_rate from order histories.
internal sealed partial class KpiEvaluator
{
    /// <summary>
    /// new_customers, returning_customers and ltv from each group's whole order history up to the
    /// range's end. With at most 64 group × (period + "before the range") slots, one pass over the
    /// counted purchases sets a bit per user and slot and adds GMV per slot; each user's lowest bit
    /// in a group is the slot of their first order there, the bits above it the periods they
    /// returned in. Otherwise per-group order lists.
    /// </summary>
    private void EvaluateCustomers()
    {
        if (EvaluateCustomersFromHistory() || EvaluateCustomersFromGroupTally())
        {
            return;
        }
        var slots = _scope.GroupCount * (_grid.Count + 1);
        var cardinality = _projection.Pools.Users.Count + 1;
        if (slots <= 8)
        {
            EvaluateCustomers(new UserMasks<byte>(cardinality));
        }
        else if (slots <= 16)
        {
            EvaluateCustomers(new UserMasks<ushort>(cardinality));
        }
        else if (slots <= 32)
        {
            EvaluateCustomers(new UserMasks<uint>(cardinality));
        }
        else if (slots <= 64)
        {
            EvaluateCustomers(new UserMasks<ulong>(cardinality));
        }
        else if (_grid.Count + 1 <= GroupMasks<uint>.MaxPeriods)
        {
            EvaluateCustomersByGroups(cardinality);
        }
        else
        {
            EvaluateCustomersByLists();
        }
    }

    /// <summary>
    /// The same pass as <see cref="EvaluateCustomers{T}(UserMasks{T})"/> for more than 64 slots (weekly
    /// by country) when the periods and "before the range" fit 32 bits: one group and slot set per
    /// user (<see cref="GroupMasks{TMask}"/>) instead of per-group order lists sorted by time.
    /// </summary>
    private void EvaluateCustomersByGroups(int cardinality)
    {
        var periods = _grid.Count;
        var span = periods + 1;
        var columns = _projection.Kinds[EventKind.PurchaseCompleted];
        var ts = columns.Ts;
        var combos = columns.Combo;
        var users = columns.User;
        var amounts = columns.Amount;
        var counted = columns.Counted;
        var groupOfCombo = new int[_projection.Combos.Count];
        Array.Fill(groupOfCombo, UnknownCell);
        var gmv = new List<double[]>();
        using var masks = new GroupMasks<uint>(cardinality, span);
        var period = 0;
        foreach (var (start, length) in columns.BlocksIn(long.MinValue, _grid.End))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = ts[k];
                if (!counted[k] || t >= _grid.End)
                {
                    continue;
                }
                var group = groupOfCombo[combos[k]];
                if (group == UnknownCell)
                {
                    group = groupOfCombo[combos[k]] = ComboGroup(combos[k]);
                }
                if (group < 0)
                {
                    continue;
                }
                var slot = 0;
                if (t >= _grid.Start)
                {
                    if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                    {
                        period = _grid.Find(t);
                    }
                    slot = period + 1;
                }
                while (gmv.Count <= group)
                {
                    gmv.Add(new double[span]);
                }
                gmv[group][slot] += amounts[k];
                if (users[k] != 0)
                {
                    masks.Add(users[k], group, slot);
                }
            }
        }
        var firsts = new long[gmv.Count * span];
        var returning = new long[gmv.Count * span];
        masks.ForEach((group, slots) =>
        {
            firsts[(group * span) + System.Numerics.BitOperations.TrailingZeroCount(slots)]++;
            for (var later = slots & (slots - 1); later != 0; later &= later - 1)
            {
                returning[(group * span) + System.Numerics.BitOperations.TrailingZeroCount(later)]++;
            }
        });
        for (var group = 0; group < gmv.Count; group++)
        {
            SetCustomerCells(CellsOf(group), firsts.AsSpan(group * span, span), returning.AsSpan(group * span, span), gmv[group]);
        }
    }

    private void EvaluateCustomers<T>(UserMasks<T> masks) where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        using var owned = masks;
        var periods = _grid.Count;
        var span = periods + 1;
        var groups = _scope.GroupCount;
        var columns = _projection.Kinds[EventKind.PurchaseCompleted];
        var ts = columns.Ts;
        var combos = columns.Combo;
        var users = columns.User;
        var amounts = columns.Amount;
        var counted = columns.Counted;
        var comboCells = ComboCells();
        var gmv = new double[groups * span];
        var hasOrders = new bool[groups];
        var period = 0;
        foreach (var (start, length) in columns.BlocksIn(long.MinValue, _grid.End))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = ts[k];
                if (!counted[k] || t >= _grid.End)
                {
                    continue;
                }
                var cell = comboCells[combos[k]];
                if (cell == UnknownCell)
                {
                    cell = comboCells[combos[k]] = ComboCell(combos[k]);
                }
                if (cell < 0)
                {
                    continue;
                }
                var group = cell / periods;
                var slot = group * span;
                if (t >= _grid.Start)
                {
                    if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                    {
                        period = _grid.Find(t);
                    }
                    slot += period + 1;
                }
                gmv[slot] += amounts[k];
                hasOrders[group] = true;
                if (users[k] != 0)
                {
                    masks.Add(users[k], slot);
                }
            }
        }
        var firsts = new long[groups * span];
        var returning = new long[groups * span];
        var groupBits = span == 64 ? ulong.MaxValue : (1UL << span) - 1;
        foreach (var user in masks.Users)
        {
            var mask = masks[user];
            while (mask != 0)
            {
                var group = System.Numerics.BitOperations.TrailingZeroCount(mask) / span;
                var bits = (mask >> (group * span)) & groupBits;
                mask &= ~(bits << (group * span));
                var first = System.Numerics.BitOperations.TrailingZeroCount(bits);
                firsts[(group * span) + first]++;
                for (var later = bits & (bits - 1); later != 0; later &= later - 1)
                {
                    returning[(group * span) + System.Numerics.BitOperations.TrailingZeroCount(later)]++;
                }
            }
        }
        for (var group = 0; group < groups; group++)
        {
            if (!hasOrders[group])
            {
                continue;
            }
            SetCustomerCells(CellsOf(group), firsts.AsSpan(group * span, span), returning.AsSpan(group * span, span), gmv.AsSpan(group * span, span));
        }
    }

    /// <summary>
    /// The customer KPIs of a query over everything (no filter, scope or group_by) from the
    /// projection's <see cref="CustomerHistory"/> and a <see cref="CustomerTally"/> of the grid,
    /// carried on from the last query of the same grid: only the counted purchases written since
    /// are read. Each user's slots are "before the range" (their first order, looked up), the
    /// periods they ordered in, and "after the range"; the lowest is the slot of their first order,
    /// as in the full pass. Orders, GMV and customers before the range are the history's totals
    /// minus what was read. False when the query does not qualify (then every purchase is read).
    /// </summary>
    private bool EvaluateCustomersFromHistory()
    {
        var history = _projection.Customers;
        if (!UseRollup || _scope.GroupBy.Count > 0 || !_scope.MatchesEverything || !history.Complete || _grid.Count + 2 > 64
            || _grid.Start % HourRollup.HourMs != 0 || !HourRollup.TryHour(_grid.Start, out var startHour))
        {
            return false;
        }
        var columns = _projection.Kinds[EventKind.PurchaseCompleted];
        var holder = _projection.CustomerTallies.For(CustomerTally.Key(_grid.Bounds));
        lock (holder.Gate)
        {
            if (holder.Tally is not { } tally || !tally.Holds(columns))
            {
                tally = holder.Tally = new CustomerTally(columns, [.. _grid.Bounds]);
            }
            tally.CountUpTo(history);
            AddCustomersFromTally(tally, history, startHour);
        }
        return true;
    }

    /// <summary>
    /// The customer KPIs of a grouped or filtered query (or one the history cannot serve) from the
    /// projection's <see cref="GroupCustomerTally"/> of this grouping and grid, carried on from the
    /// last such query: only the counted purchases written since are read. False when the grid has
    /// more periods than a tally's slots (then every purchase is read).
    /// </summary>
    private bool EvaluateCustomersFromGroupTally()
    {
        if (!UseRollup || _grid.Bounds.Length > GroupCustomerTally.MaxSlots)
        {
            return false;
        }
        var columns = _projection.Kinds[EventKind.PurchaseCompleted];
        var keyOfCombo = _scratch.Ints(_projection.Combos.Count, UnknownCell);
        int KeyOf(int combo)
        {
            var key = keyOfCombo[combo];
            return key != UnknownCell ? key : keyOfCombo[combo] = _scope.KeyNumberOfCombo(combo);
        }
        var holder = _projection.GroupCustomerTallies.For(GroupCustomerTally.Key(_scope.GroupingKey, _grid.Bounds));
        lock (holder.Gate)
        {
            if (holder.Tally is not { } tally || !tally.Holds(columns))
            {
                tally = holder.Tally = new GroupCustomerTally(columns, [.. _grid.Bounds]);
            }
            tally.CountUpTo(KeyOf, _projection.Pools.Users.Count + 1);
            for (var key = 0; key < tally.KeyCount; key++)
            {
                if (!tally.HasOrders(key))
                {
                    continue;
                }
                SetCustomerCells(CellsOf(_scope.GroupOfKeyNumber(key)), tally.Firsts(key), tally.Returning(key), tally.Gmv(key));
            }
        }
        return true;
    }

    private void AddCustomersFromTally(CustomerTally tally, CustomerHistory history, int startHour)
    {
        // Before the range: the hours before its start (it starts on a whole hour).
        long ordersBefore = 0;
        double gmvBefore = 0;
        var hours = history.Hours;
        var keys = hours.Keys;
        var orders = hours.Counts(0);
        var sums = hours.Sums(0);
        for (var e = 0; e < keys.Length; e++)
        {
            if (RollupTable.HourOf(keys[e]) < startHour)
            {
                ordersBefore += orders[e];
                gmvBefore += sums[e];
            }
        }
        if (!tally.HasOrders && ordersBefore == 0)
        {
            return;
        }
        var cells = CellsOf(0);
        var sum = gmvBefore;
        long customers = history.Customers - tally.FromRange;
        for (var p = 0; p < _grid.Count; p++)
        {
            sum += tally.Gmv[p + 1];
            customers += tally.Firsts[p + 1];
            cells[p].NewCustomers = tally.Firsts[p + 1];
            cells[p].Returning = tally.Returning[p + 1];
            cells[p].Ltv = customers == 0 ? null : sum / customers;
        }
    }

    /// <summary>
    /// One group's cells from its per-slot counts, slot 0 being "before the range" and slot p + 1
    /// period p: new and returning customers per period, and LTV as the GMV up to each period's end
    /// over the customers up to it (added in slot order, as every pass adds them).
    /// </summary>
    private void SetCustomerCells(Cell[] cells, ReadOnlySpan<long> firsts, ReadOnlySpan<long> returning, ReadOnlySpan<double> gmv)
    {
        var sum = gmv[0];
        var customers = firsts[0];
        for (var p = 0; p < _grid.Count; p++)
        {
            sum += gmv[p + 1];
            customers += firsts[p + 1];
            cells[p].NewCustomers = firsts[p + 1];
            cells[p].Returning = returning[p + 1];
            cells[p].Ltv = customers == 0 ? null : sum / customers;
        }
    }

    /// <summary>The customer KPIs from each group's order list (any number of groups and periods).</summary>
    private void EvaluateCustomersByLists()
    {
        var periods = _grid.Count;
        var returning = new DistinctPairs(_projection.Pools.Users.Count + 1);
        foreach (var (group, orders) in Collect(EventKind.PurchaseCompleted, long.MinValue, _grid.End, FactValue.User, countedOnly: true))
        {
            var cells = CellsOf(group);
            var firstOrder = new Dictionary<int, long>();
            foreach (var order in orders)
            {
                if (order.Value != 0)
                {
                    firstOrder.TryAdd(order.Value, order.Ts);
                }
            }
            foreach (var (_, first) in firstOrder)
            {
                var p = _grid.Find(first);
                if (p >= 0)
                {
                    cells[p].NewCustomers++;
                }
            }
            foreach (var order in orders)
            {
                var p = _grid.Find(order.Ts);
                if (p >= 0 && order.Value != 0 && firstOrder[order.Value] < _grid.Bounds[p])
                {
                    returning.Add(group * periods + p, order.Value);
                }
            }
            if (Needs(KpiId.Ltv))
            {
                var firsts = firstOrder.Values.Order().ToArray();
                double gmv = 0;
                int o = 0, u = 0;
                for (var p = 0; p < periods; p++)
                {
                    var end = _grid.Bounds[p + 1];
                    while (o < orders.Count && orders[o].Ts < end)
                    {
                        gmv += orders[o++].Amount;
                    }
                    while (u < firsts.Length && firsts[u] < end)
                    {
                        u++;
                    }
                    cells[p].Ltv = u == 0 ? null : gmv / u;
                }
            }
        }
        returning.Count((cell, n) => _cells[cell / periods][cell % periods].Returning = n);
    }
}
