using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

internal sealed partial class KpiEvaluator
{
    private static readonly EventKind[] CountedKinds =
    [
        EventKind.PurchaseCompleted, EventKind.PaymentSucceeded, EventKind.PaymentFailed, EventKind.LeadCreated, EventKind.PageView,
        EventKind.StoreVisited, EventKind.StoreCreated, EventKind.UserSignedUp, EventKind.OrderStatusChanged,
    ];

    /// <summary>
    /// Finds the groups with data in the range, then adds up the range's events of the kinds the
    /// asked KPIs read (through the kind index), and counts distinct visitors when asked (the one
    /// KPI that reads every event).
    /// </summary>
    private void ScanEvents()
    {
        DiscoverGroups();
        if (Needs(KpiId.Visitors, KpiId.ActiveUsers))
        {
            CountVisitors();
        }
        var stores = Needs(KpiId.ActiveStores) ? new DistinctPairs(_projection.Pools.Stores.Count + 1) : null;
        var rollup = RollupServes();
        var everything = rollup && _scope.MatchesEverything && _scope.GroupBy.Count == 0;
        if (rollup)
        {
            AddUpFromRollup(stores);
        }
        if (everything)
        {
            ViewsFromRollup();
        }
        foreach (var kind in CountedKinds)
        {
            if (!NeedsKind(kind) || (rollup && kind is EventKind.PurchaseCompleted or EventKind.PaymentSucceeded
                or EventKind.PaymentFailed or EventKind.LeadCreated or EventKind.OrderStatusChanged)
                || (everything && kind is EventKind.PageView or EventKind.StoreVisited))
            {
                continue;
            }
            var columns = _projection.Kinds[kind];
            if (columns.Rich)
            {
                AddUp(kind, columns, stores);
            }
            else
            {
                Count(kind, columns);
            }
        }
        var periods = _grid.Count;
        stores?.Count((cell, n) => _cells[cell / periods][cell % periods].ActiveStores = n);
    }

    /// <summary>Money and order kinds, from the kind's own columns, read in order.</summary>
    private void AddUp(EventKind kind, KindColumns columns, DistinctPairs? stores)
    {
        var ts = columns.Ts;
        var combos = columns.Combo;
        var amounts = columns.Amount;
        var aux = columns.Aux;
        var counted = columns.Counted;
        var periods = _grid.Count;
        var period = 0;
        foreach (var (start, length) in columns.BlocksIn(_grid.Start, _grid.End))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = ts[k];
                if (t < _grid.Start || t >= _grid.End || !_scope.MatchesCombo(combos[k]))
                {
                    continue;
                }
                if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                {
                    period = _grid.Find(t);
                }
                var group = _scope.GroupOfCombo(combos[k]);
                ref var cell = ref CellsOf(group)[period];
                switch (kind)
                {
                    case EventKind.PurchaseCompleted when counted[k]:
                        cell.Orders++;
                        cell.Gmv += amounts[k];
                        cell.Units += aux[k];
                        var store = _projection.Combos[combos[k]].Store;
                        if (stores is not null && store != 0)
                        {
                            stores.Add(group * periods + period, store);
                        }
                        break;
                    case EventKind.PaymentSucceeded:
                        cell.PaySucceeded++;
                        cell.Revenue += amounts[k];
                        break;
                    case EventKind.PaymentFailed:
                        cell.PayFailed++;
                        break;
                    case EventKind.LeadCreated:
                        cell.Leads++;
                        break;
                    case EventKind.OrderStatusChanged when counted[k]:
                        AddLine(ref cell, _projection.Ledger.EntryAt(k));
                        break;
                }
            }
        }
    }

    /// <summary>A status event's ledger line: a delivery, a cancellation or a refund (with the commission it reverses).</summary>
    private static void AddLine(ref Cell cell, LedgerEntry line)
    {
        switch (line.Role)
        {
            case LedgerRole.Delivered:
                cell.DeliveredOrders++;
                cell.DeliveredGmv += line.Amount;
                cell.Commissions += line.Commission;
                break;
            case LedgerRole.Cancelled:
                cell.CancelledOrders++;
                cell.CancelledGmv += line.Amount;
                break;
            case LedgerRole.Refund:
                cell.Refunds += line.Amount;
                cell.Commissions -= line.Commission;
                break;
        }
    }

    /// <summary>Kinds that are only counted, through their entries in the projection.</summary>
    private void Count(EventKind kind, KindColumns columns)
    {
        var events = columns.Events;
        var period = 0;
        foreach (var (start, length) in columns.BlocksIn(_grid.Start, _grid.End))
        {
            for (var k = start; k < start + length; k++)
            {
                var index = events[k];
                var chunk = _projection.Chunk(index);
                var i = index & (EventChunk.Size - 1);
                var t = chunk.Ts[i];
                if (t < _grid.Start || t >= _grid.End || !_scope.Matches(chunk, i))
                {
                    continue;
                }
                if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                {
                    period = _grid.Find(t);
                }
                ref var cell = ref CellsOf(_scope.GroupOf(chunk, i))[period];
                switch (kind)
                {
                    case EventKind.PageView:
                        cell.Pageviews++;
                        break;
                    case EventKind.StoreVisited:
                        cell.StoreVisits++;
                        break;
                    case EventKind.StoreCreated:
                        cell.NewStores++;
                        break;
                    case EventKind.UserSignedUp:
                        cell.NewUsers++;
                        break;
                }
            }
        }
    }

    private bool NeedsKind(EventKind kind) => kind switch
    {
        EventKind.PurchaseCompleted => Needs(KpiId.Gmv, KpiId.Orders, KpiId.Aov, KpiId.UnitsSold, KpiId.ActiveStores, KpiId.SellThroughRate),
        EventKind.PaymentSucceeded => Needs(KpiId.Revenue, KpiId.PaymentsSuccessRate),
        EventKind.PaymentFailed => Needs(KpiId.PaymentsSuccessRate),
        EventKind.LeadCreated => Needs(KpiId.Leads, KpiId.ConversionPct),
        EventKind.PageView => Needs(KpiId.Pageviews),
        EventKind.StoreVisited => Needs(KpiId.StoreVisits),
        EventKind.StoreCreated => Needs(KpiId.NewStores),
        EventKind.UserSignedUp => Needs(KpiId.NewUsers),
        EventKind.OrderStatusChanged => Needs(KpiId.DeliveredGmv, KpiId.DeliveredOrders, KpiId.Commissions, KpiId.Refunds,
            KpiId.CancelledOrders, KpiId.CancelledGmv, KpiId.NetGmv),
        _ => false,
    };

    /// <summary>
    /// Marks the groups that have a catalog event in the range matching the filters: from the
    /// chunks' combination sets where a chunk lies inside the range, event by event at its edges;
    /// done as soon as every group the filters allow is marked (at once without group_by).
    /// </summary>
    private void DiscoverGroups()
    {
        var all = _scope.GroupCount;
        var seen = new bool[_projection.Combos.Count];
        // A combination whose first or last catalog event is in the range has data there; only one
        // with events both before and after the range needs its events looked at.
        var rollup = _projection.Rollup;
        var unsure = false;
        for (var combo = 0; combo < seen.Length; combo++)
        {
            var first = rollup.ComboFirst(combo);
            var last = rollup.ComboLast(combo);
            if ((first >= _grid.Start && first < _grid.End) || (last >= _grid.Start && last < _grid.End))
            {
                seen[combo] = true;
                if (_scope.MatchesCombo(combo) && MarkInRange(_scope.GroupOfCombo(combo)) == all)
                {
                    return;
                }
            }
            else if (first < _grid.Start && last >= _grid.End)
            {
                unsure = true;
            }
        }
        if (!unsure)
        {
            return;
        }
        var chunks = ChunksIn(_grid.Start, _grid.End).ToList();
        // Chunks wholly inside the range first: their combination sets are cheap to read.
        foreach (var chunk in chunks.Where(c => c.MinTs >= _grid.Start && c.MaxTs < _grid.End))
        {
            foreach (var combo in chunk.Combos)
            {
                if (seen[combo])
                {
                    continue;
                }
                seen[combo] = true;
                if (_scope.MatchesCombo(combo) && MarkInRange(_scope.GroupOfCombo(combo)) == all)
                {
                    return;
                }
            }
        }
        foreach (var chunk in chunks.Where(c => c.MinTs < _grid.Start || c.MaxTs >= _grid.End))
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                var t = chunk.Ts[i];
                var combo = chunk.Combo[i];
                if (t >= _grid.Start && t < _grid.End && !seen[combo] && (chunk.Flags[i] & EventFlags.Custom) == 0)
                {
                    seen[combo] = true;
                    if (_scope.MatchesCombo(combo) && MarkInRange(_scope.GroupOfCombo(combo)) == all)
                    {
                        return;
                    }
                }
            }
        }
    }

    private int _groupsInRange;

    /// <summary>Marks a group as having data in the range; returns how many groups are marked.</summary>
    private int MarkInRange(int group)
    {
        CellsOf(group);
        if (!_inRange[group])
        {
            _inRange[group] = true;
            _groupsInRange++;
        }
        return _groupsInRange;
    }

    /// <summary>
    /// Distinct users per group × period over every catalog event of the range: from the visitor
    /// cache where it serves (<see cref="CountVisitorsFromCache"/>), else a set of cells per
    /// user (<see cref="UserMasks{T}"/>) when there are at most 64 cells, else a group and a set of
    /// periods per user (<see cref="GroupMasks{TMask}"/>) when there are at most 32 periods, else
    /// (cell, user) pairs counted after a sort.
    /// </summary>
    private void CountVisitors()
    {
        if (CountVisitorsFromCache())
        {
            return;
        }
        var periods = _grid.Count;
        var cells = _scope.GroupCount * periods;
        var cardinality = _projection.Pools.Users.Count + 1;
        long[]? counts = null;
        if (cells <= 8)
        {
            counts = CountVisitorsByMasks(new UserMasks<byte>(cardinality));
        }
        else if (cells <= 16)
        {
            counts = CountVisitorsByMasks(new UserMasks<ushort>(cardinality));
        }
        else if (cells <= 32)
        {
            counts = CountVisitorsByMasks(new UserMasks<uint>(cardinality));
        }
        else if (cells <= 64)
        {
            counts = CountVisitorsByMasks(new UserMasks<ulong>(cardinality));
        }
        else if (periods <= GroupMasks<uint>.MaxPeriods)
        {
            using var masks = new GroupMasks<uint>(cardinality, periods);
            VisitUsers(new GroupSink(masks));
            counts = masks.CountPerCell(_cells.Count);
        }
        if (counts is not null)
        {
            for (var cell = 0; cell < counts.Length; cell++)
            {
                if (counts[cell] > 0)
                {
                    _cells[cell / periods][cell % periods].Visitors = counts[cell];
                }
            }
            return;
        }
        var pairs = new DistinctPairs(cardinality);
        VisitUsers(new PairSink(pairs, periods));
        pairs.Count((cell, n) => _cells[cell / periods][cell % periods].Visitors = n);
    }

    private long[] CountVisitorsByMasks<T>(UserMasks<T> masks) where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        using (masks)
        {
            VisitUsers(new MaskSink<T>(masks, _grid.Count));
            return masks.CountPerCell();
        }
    }

    private interface IUserSink
    {
        void Add(int group, int period, int user);
    }

    private readonly struct MaskSink<T>(UserMasks<T> masks, int periods) : IUserSink where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        public void Add(int group, int period, int user) => masks.Add(user, (group * periods) + period);
    }

    private readonly struct GroupSink(GroupMasks<uint> masks) : IUserSink
    {
        public void Add(int group, int period, int user) => masks.Add(user, group, period);
    }

    private readonly struct PairSink(DistinctPairs pairs, int periods) : IUserSink
    {
        public void Add(int group, int period, int user) => pairs.Add((group * periods) + period, user);
    }

    /// <summary>Hands each (group, period, user) of the range's catalog events matching the filters to <paramref name="sink"/>.</summary>
    private void VisitUsers<TSink>(TSink sink) where TSink : struct, IUserSink
    {
        if (_scope.DecidedByCountry && RollupServes() && _projection.Visits.Complete)
        {
            VisitUsersFromLog(sink);
            return;
        }
        var groups = new int[_projection.Combos.Count];
        Array.Fill(groups, UnknownCell);
        foreach (var chunk in ChunksIn(_grid.Start, _grid.End))
        {
            var ts = chunk.Ts.AsSpan(0, chunk.Count);
            var users = chunk.User;
            var flags = chunk.Flags;
            var combos = chunk.Combo;
            var period = 0;
            for (var i = 0; i < ts.Length; i++)
            {
                var t = ts[i];
                var user = users[i];
                if (user == 0 || t < _grid.Start || t >= _grid.End || (flags[i] & EventFlags.Custom) != 0)
                {
                    continue;
                }
                var group = groups[combos[i]];
                if (group == UnknownCell)
                {
                    group = groups[combos[i]] = ComboGroup(combos[i]);
                }
                if (group < 0)
                {
                    continue;
                }
                if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                {
                    period = _grid.Find(t);
                }
                sink.Add(group, period, user);
            }
        }
    }

    /// <summary>
    /// <see cref="VisitUsers{TSink}"/> from the projection's <see cref="VisitLog"/> for a query
    /// whose filters, scope and group keys name only the country and whose period boundaries are
    /// whole UTC hours: each entry's hour lies in one period, its country decides its match and
    /// group, and there are several times fewer entries than events.
    /// </summary>
    private void VisitUsersFromLog<TSink>(TSink sink) where TSink : struct, IUserSink
    {
        HourRollup.TryHour(_grid.Start, out var from);
        HourRollup.TryHour(_grid.End, out var to);
        var log = _projection.Visits;
        var hours = log.Hours;
        var users = log.Users;
        var countries = log.Countries;
        var groupOfCountry = GroupsOfCountries();
        // Each hour's period from a table, unless the range is so long (over a century) that the
        // table would cost more than a search per entry.
        const int MaxTable = 1 << 20;
        var span = (long)to - from;
        var periodOf = new int[Math.Min(span, MaxTable)];
        for (var h = 0; h < periodOf.Length; h++)
        {
            periodOf[h] = _grid.Find((from + h) * HourRollup.HourMs);
        }
        foreach (var (start, length) in log.BlocksIn(from, to))
        {
            for (var e = start; e < start + length; e++)
            {
                var hour = (long)hours[e] - from;
                if (hour < 0 || hour >= span)
                {
                    continue;
                }
                var group = groupOfCountry[countries[e]];
                if (group < 0)
                {
                    continue;
                }
                sink.Add(group, hour < periodOf.Length ? periodOf[hour] : _grid.Find(hours[e] * HourRollup.HourMs), users[e]);
            }
        }
    }

    private const int UnknownCell = -2;

    /// <summary>Per combination, the first cell of its group (group × periods), -1 when it does not match; filled in as met.</summary>
    private int[] ComboCells() => _scratch.Ints(_projection.Combos.Count, UnknownCell);

    /// <summary>A combination's group (its cells created), or -1 when it does not match.</summary>
    private int ComboGroup(int combo)
    {
        if (!_scope.MatchesCombo(combo))
        {
            return -1;
        }
        var group = _scope.GroupOfCombo(combo);
        CellsOf(group);
        return group;
    }

    private int ComboCell(int combo)
    {
        if (!_scope.MatchesCombo(combo))
        {
            return -1;
        }
        var group = _scope.GroupOfCombo(combo);
        CellsOf(group);
        return group * _grid.Count;
    }

    /// <summary>Sessions whose first event is in the range and matches the filters; they take its period and group.</summary>
    private void ScanSessions()
    {
        if (RollupServes())
        {
            SessionsFromRollup();
            return;
        }
        const int Block = 1 << KpiProjection.SessionBlockShift;
        var period = 0;
        for (var s = 1; s <= _projection.SessionCount; s++)
        {
            if ((s & (Block - 1)) == 0 || s == 1)
            {
                if (!_projection.SessionBlockOverlaps(s, _grid.Start, _grid.End))
                {
                    s = (s | (Block - 1));
                    continue;
                }
            }
            var row = _projection.Session(s);
            if (row.Events == 0 || row.FirstTs < _grid.Start || row.FirstTs >= _grid.End)
            {
                continue;
            }
            if (!_scope.MatchesCombo(row.FirstCombo))
            {
                continue;
            }
            var group = _scope.GroupOfCombo(row.FirstCombo);
            if (row.FirstTs < _grid.Bounds[period] || row.FirstTs >= _grid.Bounds[period + 1])
            {
                period = _grid.Find(row.FirstTs);
            }
            ref var cell = ref CellsOf(group)[period];
            MarkInRange(group);
            cell.Sessions++;
            if (row.Events == 1)
            {
                cell.Bounces++;
            }
            cell.DurationMs += row.LastTs - row.FirstTs;
            var f = row.Flags;
            if ((f & SessionFlags.Purchase) != 0)
            {
                cell.SessionsPurchase++;
            }
            if ((f & SessionFlags.AddToCart) != 0)
            {
                cell.SessionsCart++;
                if ((f & SessionFlags.Purchase) == 0)
                {
                    cell.SessionsCartNoPurchase++;
                }
            }
            if ((f & SessionFlags.ProductViewed) != 0)
            {
                cell.SessionsViewed++;
            }
            if ((f & SessionFlags.CheckoutStarted) != 0)
            {
                cell.SessionsCheckout++;
            }
            if (row.CheckoutCompleted)
            {
                cell.SessionsCheckoutCompleted++;
            }
        }
    }
}
