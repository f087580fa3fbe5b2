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

    /// <summary>The entries of <paramref name="table"/> in the grid's hours that match the filters, with their group and period.</summary>
    private void ForEachEntry(RollupTable table, Action<int, int, int> visit)
    {
        HourRollup.TryHour(_grid.Start, out var from);
        HourRollup.TryHour(_grid.End, out var to);
        var keys = table.Keys;
        var period = 0;
        foreach (var (start, length) in table.BlocksIn(from, to))
        {
            for (var e = start; e < start + length; e++)
            {
                var hour = RollupTable.HourOf(keys[e]);
                var combo = RollupTable.ComboOf(keys[e]);
                if (hour < from || hour >= to || !_scope.MatchesCombo(combo))
                {
                    continue;
                }
                var t = hour * HourRollup.HourMs;
                if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                {
                    period = _grid.Find(t);
                }
                visit(e, _scope.GroupOfCombo(combo), period);
            }
        }
    }

    /// <summary>Orders, payments, leads and final statuses from the rollup; active stores are the distinct stores of entries with orders.</summary>
    private void AddUpFromRollup(DistinctPairs? stores)
    {
        var rollup = _projection.Rollup;
        var periods = _grid.Count;
        if (NeedsKind(EventKind.PurchaseCompleted))
        {
            var t = rollup.Orders;
            ForEachEntry(t, (e, group, period) =>
            {
                ref var cell = ref CellsOf(group)[period];
                var orders = t.Counts(HourRollup.OrderCount)[e];
                cell.Orders += orders;
                cell.Units += t.Counts(HourRollup.OrderUnits)[e];
                cell.Gmv += t.Sums(HourRollup.OrderGmv)[e];
                var store = _projection.Combos[RollupTable.ComboOf(t.Keys[e])].Store;
                if (stores is not null && store != 0 && orders > 0)
                {
                    stores.Add(group * periods + period, store);
                }
            });
        }
        if (NeedsKind(EventKind.PaymentSucceeded) || NeedsKind(EventKind.PaymentFailed))
        {
            var t = rollup.Payments;
            ForEachEntry(t, (e, group, period) =>
            {
                ref var cell = ref CellsOf(group)[period];
                cell.PaySucceeded += t.Counts(HourRollup.PaymentSucceeded)[e];
                cell.PayFailed += t.Counts(HourRollup.PaymentFailed)[e];
                cell.Revenue += t.Sums(HourRollup.PaymentRevenue)[e];
            });
        }
        if (NeedsKind(EventKind.LeadCreated))
        {
            var t = rollup.Leads;
            ForEachEntry(t, (e, group, period) => CellsOf(group)[period].Leads += t.Counts(HourRollup.LeadCount)[e]);
        }
        if (NeedsKind(EventKind.OrderStatusChanged))
        {
            var t = rollup.Finals;
            ForEachEntry(t, (e, group, period) =>
            {
                ref var cell = ref CellsOf(group)[period];
                cell.DeliveredOrders += t.Counts(HourRollup.FinalDelivered)[e];
                cell.DeliveredGmv += t.Sums(HourRollup.FinalDeliveredGmv)[e];
                cell.Commissions += t.Sums(HourRollup.FinalCommissions)[e];
                cell.Refunds += t.Sums(HourRollup.FinalRefunds)[e];
            });
        }
    }

    /// <summary>The session counts from the rollup (each session sits in the hour of its first event).</summary>
    private void SessionsFromRollup()
    {
        var t = _projection.Rollup.Sessions;
        ForEachEntry(t, (e, group, period) =>
        {
            var sessions = t.Counts(HourRollup.SessionCount)[e];
            if (sessions == 0)
            {
                return;
            }
            ref var cell = ref CellsOf(group)[period];
            MarkInRange(group);
            cell.Sessions += sessions;
            cell.Bounces += t.Counts(HourRollup.SessionBounces)[e];
            cell.DurationMs += (long)t.Sums(HourRollup.SessionDurationMs)[e];
            cell.SessionsPurchase += t.Counts(HourRollup.SessionPurchase)[e];
            cell.SessionsCart += t.Counts(HourRollup.SessionCart)[e];
            cell.SessionsCartNoPurchase += t.Counts(HourRollup.SessionCartNoPurchase)[e];
            cell.SessionsViewed += t.Counts(HourRollup.SessionViewed)[e];
            cell.SessionsCheckout += t.Counts(HourRollup.SessionCheckout)[e];
        });
    }
}
