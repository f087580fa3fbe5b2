using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

internal sealed partial class KpiEvaluator
{
    /// <summary>
    /// Whether the hour rollup answers this query's additive parts: every period boundary is a
    /// whole UTC hour (true of UTC and of whole-hour offsets, DST included; not of +05:30), so each
    /// rollup hour lies inside exactly one period.
    /// </summary>
    private bool RollupServes()
    {
        if (!UseRollup || !_projection.Rollup.Complete)
        {
            return false;
        }
        foreach (var bound in _grid.Bounds)
        {
            if (bound % HourRollup.HourMs != 0 || !HourRollup.TryHour(bound, out _))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Bits of a period number in an entry's cell (groups × periods stay under <see cref="MaxCells"/>, so the pair fits an int).</summary>
    private int PeriodBits => System.Numerics.BitOperations.Log2((uint)_grid.Count) + 1;

    /// <summary>
    /// The blocks of <paramref name="table"/>'s entries that may hold an hour of the grid and, for
    /// each entry in them: (group &lt;&lt; <see cref="PeriodBits"/>) | period when its hour is in the
    /// grid and its combination matches the filters, else -1 (entries outside the blocks are left
    /// unset: the family loops read only the blocks, so a query pays for its range, not for the
    /// whole table). Each combination's group is looked up once and each block's hours map to
    /// periods by the grid, so the family loops below are plain array reads. The array is rented;
    /// give it back with <see cref="ReturnCells"/>.
    /// </summary>
    private (int[] Cells, List<(int Start, int Length)> Blocks) EntryCells(RollupTable table)
    {
        HourRollup.TryHour(_grid.Start, out var from);
        HourRollup.TryHour(_grid.End, out var to);
        var keys = table.Keys;
        var cells = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(1, keys.Length));
        var blocks = table.BlocksIn(from, to).ToList();
        var groups = ComboCells();
        var bits = PeriodBits;
        var period = 0;
        foreach (var (start, length) in blocks)
        {
            for (var e = start; e < start + length; e++)
            {
                cells[e] = -1;
                var hour = RollupTable.HourOf(keys[e]);
                if (hour < from || hour >= to)
                {
                    continue;
                }
                var combo = RollupTable.ComboOf(keys[e]);
                var first = groups[combo];
                if (first == UnknownCell)
                {
                    first = groups[combo] = ComboCell(combo);
                }
                if (first < 0)
                {
                    continue;
                }
                var t = hour * HourRollup.HourMs;
                if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                {
                    period = _grid.Find(t);
                }
                cells[e] = ((first / _grid.Count) << bits) | period;
            }
        }
        return (cells, blocks);
    }

    private static void ReturnCells(int[] cells) => System.Buffers.ArrayPool<int>.Shared.Return(cells);

    /// <summary>Orders, payments, leads and final statuses from the rollup; active stores are the distinct stores of entries with orders.</summary>
    private void AddUpFromRollup(DistinctPairs? stores)
    {
        var rollup = _projection.Rollup;
        var periods = _grid.Count;
        var bits = PeriodBits;
        var mask = (1 << bits) - 1;
        if (NeedsKind(EventKind.PurchaseCompleted))
        {
            var t = rollup.Orders;
            var (cells, blocks) = EntryCells(t);
            var keys = t.Keys;
            var orders = t.Counts(HourRollup.OrderCount);
            var units = t.Counts(HourRollup.OrderUnits);
            var gmv = t.Sums(HourRollup.OrderGmv);
            foreach (var (start, length) in blocks)
            {
                for (var e = start; e < start + length; e++)
                {
                    var c = cells[e];
                    if (c < 0)
                    {
                        continue;
                    }
                    var (group, period) = (c >> bits, c & mask);
                    ref var cell = ref _cells[group][period];
                    cell.Orders += orders[e];
                    cell.Units += units[e];
                    cell.Gmv += gmv[e];
                    var store = stores is null ? 0 : _projection.Combos[RollupTable.ComboOf(keys[e])].Store;
                    if (store != 0 && orders[e] > 0)
                    {
                        stores!.Add((group * periods) + period, store);
                    }
                }
            }
            ReturnCells(cells);
        }
        if (NeedsKind(EventKind.PaymentSucceeded) || NeedsKind(EventKind.PaymentFailed))
        {
            var t = rollup.Payments;
            var (cells, blocks) = EntryCells(t);
            var succeeded = t.Counts(HourRollup.PaymentSucceeded);
            var failed = t.Counts(HourRollup.PaymentFailed);
            var revenue = t.Sums(HourRollup.PaymentRevenue);
            foreach (var (start, length) in blocks)
            {
                for (var e = start; e < start + length; e++)
                {
                    if (cells[e] >= 0)
                    {
                        ref var cell = ref _cells[cells[e] >> bits][cells[e] & mask];
                        cell.PaySucceeded += succeeded[e];
                        cell.PayFailed += failed[e];
                        cell.Revenue += revenue[e];
                    }
                }
            }
            ReturnCells(cells);
        }
        if (NeedsKind(EventKind.LeadCreated))
        {
            var t = rollup.Leads;
            var (cells, blocks) = EntryCells(t);
            var leads = t.Counts(HourRollup.LeadCount);
            foreach (var (start, length) in blocks)
            {
                for (var e = start; e < start + length; e++)
                {
                    if (cells[e] >= 0)
                    {
                        _cells[cells[e] >> bits][cells[e] & mask].Leads += leads[e];
                    }
                }
            }
            ReturnCells(cells);
        }
        if (NeedsKind(EventKind.OrderStatusChanged))
        {
            var t = rollup.Finals;
            var (cells, blocks) = EntryCells(t);
            var delivered = t.Counts(HourRollup.FinalDelivered);
            var cancelled = t.Counts(HourRollup.FinalCancelled);
            var deliveredGmv = t.Sums(HourRollup.FinalDeliveredGmv);
            var commissions = t.Sums(HourRollup.FinalCommissions);
            var cancelledGmv = t.Sums(HourRollup.FinalCancelledGmv);
            var refunds = t.Sums(HourRollup.FinalRefunds);
            var reversed = t.Sums(HourRollup.FinalCommissionsReversed);
            foreach (var (start, length) in blocks)
            {
                for (var e = start; e < start + length; e++)
                {
                    if (cells[e] >= 0)
                    {
                        ref var cell = ref _cells[cells[e] >> bits][cells[e] & mask];
                        cell.DeliveredOrders += delivered[e];
                        cell.DeliveredGmv += deliveredGmv[e];
                        cell.Commissions += commissions[e] - reversed[e];
                        cell.CancelledOrders += cancelled[e];
                        cell.CancelledGmv += cancelledGmv[e];
                        cell.Refunds += refunds[e];
                    }
                }
            }
            ReturnCells(cells);
        }
    }

    /// <summary>Page views and store visits of a query over everything, from the rollup's hours.</summary>
    private void ViewsFromRollup()
    {
        if (!NeedsKind(EventKind.PageView) && !NeedsKind(EventKind.StoreVisited))
        {
            return;
        }
        HourRollup.TryHour(_grid.Start, out var from);
        HourRollup.TryHour(_grid.End, out var to);
        var t = _projection.Rollup.ViewHours;
        var keys = t.Keys;
        var pageviews = t.Counts(HourRollup.ViewPageViews);
        var visits = t.Counts(HourRollup.ViewStoreVisits);
        var cells = CellsOf(0);
        foreach (var (start, length) in t.BlocksIn(from, to))
        {
            for (var e = start; e < start + length; e++)
            {
                var hour = RollupTable.HourOf(keys[e]);
                if (hour >= from && hour < to)
                {
                    ref var cell = ref cells[_grid.Find(hour * HourRollup.HourMs)];
                    cell.Pageviews += pageviews[e];
                    cell.StoreVisits += visits[e];
                }
            }
        }
    }

    /// <summary>Values kept per (group key, period) of the sessions' sums: sessions, bounces, duration and the six funnel counts.</summary>
    private const int SessionWidth = 9;

    /// <summary>
    /// Group keys × missing periods added up and kept at most: a dashboard's groupings (by country,
    /// source, platform; a week or a day at a time) fit, a question by store over many days reads
    /// the entries into its cells as before and keeps nothing.
    /// </summary>
    private const int MaxSumSlots = 1 << 12;

    /// <summary>
    /// The session counts from the rollup (each session sits in the hour of its first event), per
    /// period from the sums kept in the projection's <see cref="RollupSums"/> while the period's days
    /// are unchanged; the other periods are added up in one pass over their entries and kept.
    /// </summary>
    private void SessionsFromRollup()
    {
        var t = _projection.Rollup.Sessions;
        var periods = _grid.Count;
        var hours = new int[periods + 1];
        for (var p = 0; p <= periods; p++)
        {
            HourRollup.TryHour(_grid.Bounds[p], out hours[p]);
        }
        var kept = new RollupSums.Period?[periods];
        var missing = new List<int>();
        for (var p = 0; p < periods; p++)
        {
            kept[p] = _projection.SessionSums.Find(t, _scope.GroupingKey, hours[p], hours[p + 1]);
            if (kept[p] is null)
            {
                missing.Add(p);
            }
        }
        if ((long)missing.Count * _scope.GroupCount > MaxSumSlots)
        {
            SessionsFromEntries();
            return;
        }
        if (missing.Count > 0)
        {
            AddUpSessions(t, hours, missing, kept);
        }
        for (var p = 0; p < periods; p++)
        {
            var period = kept[p]!;
            for (var i = 0; i < period.Keys.Length; i++)
            {
                var group = _scope.GroupOfKeyNumber(period.Keys[i]);
                MarkInRange(group);
                AddSessionSums(ref _cells[group][p], period.Values.AsSpan(i * SessionWidth, SessionWidth));
            }
        }
    }

    private static void AddSessionSums(ref Cell cell, ReadOnlySpan<long> v)
    {
        cell.Sessions += v[0];
        cell.Bounces += v[1];
        cell.DurationMs += v[2];
        cell.SessionsPurchase += v[3];
        cell.SessionsCart += v[4];
        cell.SessionsCartNoPurchase += v[5];
        cell.SessionsViewed += v[6];
        cell.SessionsCheckout += v[7];
        cell.SessionsCheckoutCompleted += v[8];
    }

    /// <summary>The sessions table's columns, read once per pass: <see cref="SessionWidth"/> values an entry.</summary>
    private readonly ref struct SessionColumns(RollupTable t)
    {
        public readonly ReadOnlySpan<int> Sessions = t.Counts(HourRollup.SessionCount);
        private readonly ReadOnlySpan<int> _bounces = t.Counts(HourRollup.SessionBounces);
        private readonly ReadOnlySpan<double> _duration = t.Sums(HourRollup.SessionDurationMs);
        private readonly ReadOnlySpan<int> _purchase = t.Counts(HourRollup.SessionPurchase);
        private readonly ReadOnlySpan<int> _cart = t.Counts(HourRollup.SessionCart);
        private readonly ReadOnlySpan<int> _cartNoPurchase = t.Counts(HourRollup.SessionCartNoPurchase);
        private readonly ReadOnlySpan<int> _viewed = t.Counts(HourRollup.SessionViewed);
        private readonly ReadOnlySpan<int> _checkout = t.Counts(HourRollup.SessionCheckout);
        private readonly ReadOnlySpan<int> _checkoutCompleted = t.Counts(HourRollup.SessionCheckoutCompleted);

        /// <summary>Adds entry <paramref name="e"/>'s values to <paramref name="v"/> (its duration as whole milliseconds, as a cell counts it).</summary>
        public void AddTo(Span<long> v, int e)
        {
            v[0] += Sessions[e];
            v[1] += _bounces[e];
            v[2] += (long)_duration[e];
            v[3] += _purchase[e];
            v[4] += _cart[e];
            v[5] += _cartNoPurchase[e];
            v[6] += _viewed[e];
            v[7] += _checkout[e];
            v[8] += _checkoutCompleted[e];
        }
    }

    /// <summary>The sessions' sums of the <paramref name="missing"/> periods per group key, in one pass over their entries; each is kept.</summary>
    private void AddUpSessions(RollupTable t, int[] hours, List<int> missing, RollupSums.Period?[] kept)
    {
        var keyCount = _scope.GroupCount;
        var slotOfPeriod = new int[_grid.Count];
        Array.Fill(slotOfPeriod, -1);
        for (var m = 0; m < missing.Count; m++)
        {
            slotOfPeriod[missing[m]] = m;
        }
        var values = new long[keyCount * missing.Count * SessionWidth];
        var seen = new bool[keyCount * missing.Count];
        var keyOfCombo = _scratch.Ints(_projection.Combos.Count, UnknownCell);
        var keys = t.Keys;
        var columns = new SessionColumns(t);
        var sessions = columns.Sessions;
        var from = hours[missing[0]];
        var to = hours[missing[^1] + 1];
        var period = missing[0];
        foreach (var (start, length) in t.BlocksIn(from, to))
        {
            for (var e = start; e < start + length; e++)
            {
                var hour = RollupTable.HourOf(keys[e]);
                if (sessions[e] == 0 || hour < from || hour >= to)
                {
                    continue;
                }
                if (hour < hours[period] || hour >= hours[period + 1])
                {
                    period = Array.BinarySearch(hours, hour);
                    period = period >= 0 ? period : ~period - 1;
                }
                var m = slotOfPeriod[period];
                if (m < 0)
                {
                    continue;
                }
                var combo = RollupTable.ComboOf(keys[e]);
                var key = keyOfCombo[combo];
                if (key == UnknownCell)
                {
                    key = keyOfCombo[combo] = _scope.KeyNumberOfCombo(combo);
                }
                if (key < 0)
                {
                    continue;
                }
                var slot = (key * missing.Count) + m;
                seen[slot] = true;
                columns.AddTo(values.AsSpan(slot * SessionWidth, SessionWidth), e);
            }
        }
        for (var m = 0; m < missing.Count; m++)
        {
            var present = Enumerable.Range(0, keyCount).Where(key => seen[(key * missing.Count) + m]).ToArray();
            var sums = new long[present.Length * SessionWidth];
            for (var i = 0; i < present.Length; i++)
            {
                values.AsSpan(((present[i] * missing.Count) + m) * SessionWidth, SessionWidth).CopyTo(sums.AsSpan(i * SessionWidth));
            }
            var p = missing[m];
            kept[p] = new RollupSums.Period(t.Version, present, sums);
            _projection.SessionSums.Keep(_scope.GroupingKey, hours[p], hours[p + 1], kept[p]!);
        }
    }

    /// <summary>The session counts from every entry of the range, nothing kept (more than <see cref="MaxSumSlots"/> group keys × periods).</summary>
    private void SessionsFromEntries()
    {
        var t = _projection.Rollup.Sessions;
        var (cells, blocks) = EntryCells(t);
        var bits = PeriodBits;
        var columns = new SessionColumns(t);
        Span<long> v = stackalloc long[SessionWidth];
        foreach (var (start, length) in blocks)
        {
            for (var e = start; e < start + length; e++)
            {
                var c = cells[e];
                if (c < 0 || columns.Sessions[e] == 0)
                {
                    continue;
                }
                var group = c >> bits;
                MarkInRange(group);
                v.Clear();
                columns.AddTo(v, e);
                AddSessionSums(ref _cells[group][c & ((1 << bits) - 1)], v);
            }
        }
        ReturnCells(cells);
    }
}
