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

    /// <summary>
    /// Orders, payments, leads and the ledger's lines from the rollup, each through the sums kept
    /// per period (<see cref="FromRollup{T}"/>); active stores are the distinct stores of entries
    /// with orders (counted when <paramref name="stores"/> is given).
    /// </summary>
    private void AddUpFromRollup(DistinctPairs? stores)
    {
        var rollup = _projection.Rollup;
        if (NeedsKind(EventKind.PurchaseCompleted))
        {
            FromRollup(rollup.Orders, new OrderColumns(rollup.Orders), markGroups: false, stores);
        }
        if (NeedsKind(EventKind.PaymentSucceeded) || NeedsKind(EventKind.PaymentFailed))
        {
            FromRollup(rollup.Payments, new PaymentColumns(rollup.Payments), markGroups: false, null);
        }
        if (NeedsKind(EventKind.LeadCreated))
        {
            FromRollup(rollup.Leads, new LeadColumns(rollup.Leads), markGroups: false, null);
        }
        if (NeedsKind(EventKind.OrderStatusChanged))
        {
            FromRollup(rollup.Finals, new FinalColumns(rollup.Finals), markGroups: false, null);
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

    /// <summary>
    /// Group keys × missing periods added up and kept at most: a dashboard's groupings (by country,
    /// source, platform; a week or a day at a time) fit, a question by store over many days reads
    /// the entries into its cells as before and keeps nothing.
    /// </summary>
    private const int MaxSumSlots = 1 << 12;

    /// <summary>The session counts from the rollup (each session sits in the hour of its first event).</summary>
    private void SessionsFromRollup()
    {
        var t = _projection.Rollup.Sessions;
        FromRollup(t, new SessionColumns(t), markGroups: true, null);
    }

    /// <summary>
    /// Adds one rollup family into the cells per period: from the sums kept in the projection's
    /// <see cref="RollupSums"/> while the period's days are unchanged, the other periods added up in
    /// one pass over their entries and kept. Under ingest only the days being written are read
    /// again: a summary's week before today and a 90-day chart's older days come from the kept sums
    /// (their entries were most of those questions' time while writers ran). Too many group keys ×
    /// periods (by store) reads the entries into the cells and keeps nothing.
    /// </summary>
    /// <param name="markGroups">Whether a group with an entry counts as having data in the range (sessions); the others' groups are found beforehand.</param>
    /// <param name="stores">Where the family has active stores and the query asks for them, the distinct pairs they are counted in.</param>
    private void FromRollup<T>(RollupTable t, T columns, bool markGroups, DistinctPairs? stores)
        where T : IRollupColumns, allows ref struct
    {
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
            kept[p] = _projection.KeptSums.Find(t, _scope.GroupingKey, hours[p], hours[p + 1]);
            if (kept[p] is null)
            {
                missing.Add(p);
            }
        }
        if ((long)missing.Count * _scope.GroupCount > MaxSumSlots)
        {
            FromEntries(t, columns, markGroups, stores);
            return;
        }
        if (missing.Count > 0)
        {
            AddUpPeriods(t, columns, hours, missing, kept);
        }
        var width = T.Width;
        for (var p = 0; p < periods; p++)
        {
            var period = kept[p]!;
            for (var i = 0; i < period.Keys.Length; i++)
            {
                var group = _scope.GroupOfKeyNumber(period.Keys[i]);
                if (markGroups)
                {
                    MarkInRange(group);
                }
                else
                {
                    CellsOf(group);
                }
                ref var cell = ref _cells[group][p];
                var values = period.Values.AsSpan(i * width, width);
                T.AddToCell(ref cell, values);
                if (stores is not null && T.StoreSlot >= 0)
                {
                    cell.ActiveStores += (long)values[T.StoreSlot];
                }
            }
        }
    }

    /// <summary>A family's sums of the <paramref name="missing"/> periods per group key, in one pass over their entries; each is kept.</summary>
    private void AddUpPeriods<T>(RollupTable t, T columns, int[] hours, List<int> missing, RollupSums.Period?[] kept)
        where T : IRollupColumns, allows ref struct
    {
        var width = T.Width;
        var keyCount = _scope.GroupCount;
        var slotOfPeriod = new int[_grid.Count];
        Array.Fill(slotOfPeriod, -1);
        for (var m = 0; m < missing.Count; m++)
        {
            slotOfPeriod[missing[m]] = m;
        }
        var values = new double[keyCount * missing.Count * width];
        var seen = new bool[keyCount * missing.Count];
        // Always counted, whether this query asks for active stores or not: the kept sums serve every later query.
        var activeStores = T.StoreSlot >= 0 ? new DistinctPairs(_projection.Pools.Stores.Count + 1) : null;
        var keyOfCombo = _scratch.Ints(_projection.Combos.Count, UnknownCell);
        var keys = t.Keys;
        var from = hours[missing[0]];
        var to = hours[missing[^1] + 1];
        var period = missing[0];
        foreach (var (start, length) in t.BlocksIn(from, to))
        {
            for (var e = start; e < start + length; e++)
            {
                var hour = RollupTable.HourOf(keys[e]);
                if (hour < from || hour >= to || !columns.Has(e))
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
                columns.AddTo(values.AsSpan(slot * width, width), e);
                if (activeStores is not null && columns.StoreActive(e) && _projection.Combos[combo].Store is var store and not 0)
                {
                    activeStores.Add(slot, store);
                }
            }
        }
        activeStores?.Count((slot, n) => values[(slot * width) + T.StoreSlot] = n);
        for (var m = 0; m < missing.Count; m++)
        {
            var present = Enumerable.Range(0, keyCount).Where(key => seen[(key * missing.Count) + m]).ToArray();
            var sums = new double[present.Length * width];
            for (var i = 0; i < present.Length; i++)
            {
                values.AsSpan(((present[i] * missing.Count) + m) * width, width).CopyTo(sums.AsSpan(i * width));
            }
            var p = missing[m];
            kept[p] = new RollupSums.Period(t.Version, present, sums);
            _projection.KeptSums.Keep(t, _scope.GroupingKey, hours[p], hours[p + 1], kept[p]!);
        }
    }

    /// <summary>A family from every entry of the range into the cells, nothing kept (more than <see cref="MaxSumSlots"/> group keys × periods).</summary>
    private void FromEntries<T>(RollupTable t, T columns, bool markGroups, DistinctPairs? stores)
        where T : IRollupColumns, allows ref struct
    {
        var (cells, blocks) = EntryCells(t);
        var keys = t.Keys;
        var periods = _grid.Count;
        var bits = PeriodBits;
        var mask = (1 << bits) - 1;
        Span<double> v = stackalloc double[T.Width];
        foreach (var (start, length) in blocks)
        {
            for (var e = start; e < start + length; e++)
            {
                var c = cells[e];
                if (c < 0 || !columns.Has(e))
                {
                    continue;
                }
                var (group, period) = (c >> bits, c & mask);
                if (markGroups)
                {
                    MarkInRange(group);
                }
                // Each entry's values from zero, then into the cell: the same additions, in the same order, as adding the columns to the cell.
                v.Clear();
                columns.AddTo(v, e);
                T.AddToCell(ref _cells[group][period], v);
                if (stores is not null && columns.StoreActive(e) && _projection.Combos[RollupTable.ComboOf(keys[e])].Store is var store and not 0)
                {
                    stores.Add((group * periods) + period, store);
                }
            }
        }
        ReturnCells(cells);
    }
}
