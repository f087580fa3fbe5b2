using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

internal sealed partial class KpiEvaluator
{
    private readonly record struct Fact(long Ts, int Value, double Amount);

    /// <summary>What a <see cref="Fact"/> carries besides its time and amount.</summary>
    private enum FactValue
    {
        None,
        User,
        Store,
    }

    /// <summary>
    /// The events of one money or order kind matching the filters in [from, to), per group, in
    /// time order, read from the kind's own columns. Used where a KPI needs history beyond the
    /// range (first orders, payments after a lead, the previous period's stores, the month's charges).
    /// </summary>
    private Dictionary<int, List<Fact>> Collect(EventKind kind, long from, long to, FactValue value, bool countedOnly)
    {
        var byGroup = new Dictionary<int, List<Fact>>();
        var columns = _projection.Kinds[kind];
        var ts = columns.Ts;
        var combos = columns.Combo;
        var users = columns.User;
        var amounts = columns.Amount;
        var counted = columns.Counted;
        foreach (var (start, length) in columns.BlocksIn(from, to))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = ts[k];
                if (t < from || t >= to || (countedOnly && !counted[k]) || !_scope.MatchesCombo(combos[k]))
                {
                    continue;
                }
                var group = _scope.GroupOfCombo(combos[k]);
                if (!byGroup.TryGetValue(group, out var list))
                {
                    byGroup[group] = list = [];
                }
                var v = value switch
                {
                    FactValue.User => users[k],
                    FactValue.Store => _projection.Combos[combos[k]].Store,
                    _ => 0,
                };
                list.Add(new Fact(t, v, amounts[k]));
            }
        }
        foreach (var list in byGroup.Values)
        {
            list.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        }
        return byGroup;
    }

    /// <summary>
    /// new_customers, returning_customers and ltv from each group's whole order history up to the
    /// range's end. With at most 64 group × (period + "before the range") slots, one pass over the
    /// counted purchases sets a bit per user and slot and adds GMV per slot; each user's lowest bit
    /// in a group is the slot of their first order there, the bits above it the periods they
    /// returned in. Otherwise per-group order lists.
    /// </summary>
    private void EvaluateCustomers()
    {
        if (EvaluateCustomersFromHistory())
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
        else if (_grid.Count + 1 <= GroupMasks.MaxPeriods)
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
    /// user (<see cref="GroupMasks"/>) instead of per-group order lists sorted by time.
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
        using var masks = new GroupMasks(cardinality, span);
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
            var cells = CellsOf(group);
            var sum = gmv[group][0];
            var customers = firsts[group * span];
            for (var p = 0; p < periods; p++)
            {
                sum += gmv[group][p + 1];
                customers += firsts[(group * span) + p + 1];
                cells[p].NewCustomers = firsts[(group * span) + p + 1];
                cells[p].Returning = returning[(group * span) + p + 1];
                cells[p].Ltv = customers == 0 ? null : sum / customers;
            }
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
            var cells = CellsOf(group);
            var slot = group * span;
            var sum = gmv[slot];
            var customers = firsts[slot];
            for (var p = 0; p < periods; p++)
            {
                sum += gmv[slot + p + 1];
                customers += firsts[slot + p + 1];
                cells[p].NewCustomers = firsts[slot + p + 1];
                cells[p].Returning = returning[slot + p + 1];
                cells[p].Ltv = customers == 0 ? null : sum / customers;
            }
        }
    }

    /// <summary>
    /// The customer KPIs of a query over everything (no filter, scope or group_by) from the
    /// projection's <see cref="CustomerHistory"/>: only the counted purchases from the range's
    /// start on are read. Each user's slots are "before the range" (their first order, looked up),
    /// the periods they ordered in, and "after the range"; the lowest is the slot of their first
    /// order, as in the full pass. Orders, GMV and customers before the range are the history's
    /// totals minus what was read. False when the query does not qualify (then every purchase is read).
    /// </summary>
    private bool EvaluateCustomersFromHistory()
    {
        var history = _projection.Customers;
        var slots = _grid.Count + 2;
        if (!UseRollup || _scope.GroupBy.Count > 0 || !_scope.MatchesEverything || !history.Complete || slots > 64
            || _grid.Start % HourRollup.HourMs != 0 || !HourRollup.TryHour(_grid.Start, out var startHour))
        {
            return false;
        }
        var cardinality = _projection.Pools.Users.Count + 1;
        if (slots <= 8)
        {
            EvaluateCustomersFromHistory(new UserMasks<byte>(cardinality), startHour);
        }
        else if (slots <= 16)
        {
            EvaluateCustomersFromHistory(new UserMasks<ushort>(cardinality), startHour);
        }
        else if (slots <= 32)
        {
            EvaluateCustomersFromHistory(new UserMasks<uint>(cardinality), startHour);
        }
        else
        {
            EvaluateCustomersFromHistory(new UserMasks<ulong>(cardinality), startHour);
        }
        return true;
    }

    private void EvaluateCustomersFromHistory<T>(UserMasks<T> masks, int startHour) where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        using var owned = masks;
        var history = _projection.Customers;
        var periods = _grid.Count;
        var after = periods + 1;
        var columns = _projection.Kinds[EventKind.PurchaseCompleted];
        var ts = columns.Ts;
        var users = columns.User;
        var amounts = columns.Amount;
        var counted = columns.Counted;
        var gmv = new double[periods + 2];
        var hasOrders = false;
        var period = 0;
        foreach (var (start, length) in columns.BlocksIn(_grid.Start, long.MaxValue))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = ts[k];
                if (!counted[k] || t < _grid.Start)
                {
                    continue;
                }
                var slot = after;
                if (t < _grid.End)
                {
                    if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                    {
                        period = _grid.Find(t);
                    }
                    slot = period + 1;
                    hasOrders = true;
                }
                gmv[slot] += amounts[k];
                var user = users[k];
                if (user != 0)
                {
                    masks.Add(user, slot);
                    if (history.FirstOrder(user) < _grid.Start)
                    {
                        masks.Add(user, 0);
                    }
                }
            }
        }
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
        if (!hasOrders && ordersBefore == 0)
        {
            return;
        }
        var firsts = new long[periods + 2];
        var returning = new long[periods + 2];
        long fromRange = 0;
        foreach (var user in masks.Users)
        {
            var mask = masks[user];
            var first = System.Numerics.BitOperations.TrailingZeroCount(mask);
            firsts[first]++;
            fromRange += first > 0 ? 1 : 0;
            for (var later = mask & (mask - 1); later != 0; later &= later - 1)
            {
                returning[System.Numerics.BitOperations.TrailingZeroCount(later)]++;
            }
        }
        var cells = CellsOf(0);
        var sum = gmvBefore;
        long customers = history.Customers - fromRange;
        for (var p = 0; p < periods; p++)
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

    /// <summary>
    /// conversion_pct: each lead of the range against the same group's payments of its user within
    /// 7 days. The range's leads (few) are keyed by group and user; one pass over the payments from
    /// the range's start to a week after its end marks the leads each payment converts.
    /// </summary>
    private void EvaluateLeadConversion()
    {
        const long Week = 7L * 24 * 3600 * 1000;
        var leads = _projection.Kinds[EventKind.LeadCreated];
        var byUser = new Dictionary<long, List<(long Ts, int Cell)>>();
        var periods = _grid.Count;
        // A lead and its payments meet on the group's dimensions but priority, which only leads have.
        var links = new Dictionary<DimensionCombo, int>();
        int Link(int combo)
        {
            var key = _scope.GroupKeyWithoutPriority(combo);
            if (!links.TryGetValue(key, out var link))
            {
                links[key] = link = links.Count;
            }
            return link;
        }
        foreach (var (start, length) in leads.BlocksIn(_grid.Start, _grid.End))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = leads.Ts[k];
                var user = leads.User[k];
                if (user == 0 || t < _grid.Start || t >= _grid.End || !_scope.MatchesCombo(leads.Combo[k]))
                {
                    continue;
                }
                var group = _scope.GroupOfCombo(leads.Combo[k]);
                CellsOf(group);
                var key = ((long)Link(leads.Combo[k]) << 32) | (uint)user;
                if (!byUser.TryGetValue(key, out var list))
                {
                    byUser[key] = list = [];
                }
                list.Add((t, (group * periods) + _grid.Find(t)));
            }
        }
        if (byUser.Count == 0)
        {
            return;
        }
        var converted = new HashSet<(long Key, int Index)>();
        var payments = _projection.Kinds[EventKind.PaymentSucceeded];
        foreach (var (start, length) in payments.BlocksIn(_grid.Start, _grid.End + Week + 1))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = payments.Ts[k];
                var user = payments.User[k];
                if (user == 0 || t < _grid.Start || t > _grid.End + Week || !_scope.MatchesComboWithoutPriority(payments.Combo[k]))
                {
                    continue;
                }
                var key = ((long)Link(payments.Combo[k]) << 32) | (uint)user;
                if (!byUser.TryGetValue(key, out var list))
                {
                    continue;
                }
                for (var i = 0; i < list.Count; i++)
                {
                    if (t >= list[i].Ts && t <= list[i].Ts + Week)
                    {
                        converted.Add((key, i));
                    }
                }
            }
        }
        foreach (var (key, index) in converted)
        {
            var cell = byUser[key][index].Cell;
            _cells[cell / periods][cell % periods].LeadsConverted++;
        }
    }

    /// <summary>
    /// store_churn_rate: stores with an order in the previous whole period and none in this one.
    /// Every period's window and its previous window are cut into the elementary intervals their
    /// boundaries make (9 for a summary's 8 days); one pass over the counted purchases from the
    /// earliest previous window sets, per (group, store), a bit for each interval it sold in, and
    /// each period then reads its windows as two masks. Grids with more than 64 intervals take the
    /// per-group lists.
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
        var from = cuts[0];
        var to = cuts[^1];
        var columns = _projection.Kinds[EventKind.PurchaseCompleted];
        var ts = columns.Ts;
        var combos = columns.Combo;
        var counted = columns.Counted;
        var users = columns.User;
        var comboCells = ComboCells();
        // (group << 32 | store or user) → intervals with an order.
        var active = new Dictionary<long, ulong>();
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
                var key = ((long)(cell / periods) << 32) | (uint)member;
                System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(active, key, out _) |= 1UL << interval;
            }
        }
        var groups = _scope.GroupCount;
        var previous = new long[groups * periods];
        var churned = new long[groups * periods];
        var seen = new bool[groups];
        foreach (var (key, mask) in active)
        {
            var group = (int)(key >> 32);
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
        }
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

    /// <summary>mrr: subscription charges from the start of the month holding each period's end, up to that end.</summary>
    private void EvaluateMrr()
    {
        var from = _grid.MonthStart.Min();
        foreach (var (group, charges) in Collect(EventKind.SubscriptionCharged, from, _grid.End, FactValue.None, countedOnly: false))
        {
            var cells = CellsOf(group);
            for (var p = 0; p < _grid.Count; p++)
            {
                double sum = 0;
                foreach (var charge in charges)
                {
                    if (charge.Ts >= _grid.MonthStart[p] && charge.Ts < _grid.Bounds[p + 1])
                    {
                        sum += charge.Amount;
                    }
                }
                cells[p].Mrr = sum;
            }
        }
    }
}
