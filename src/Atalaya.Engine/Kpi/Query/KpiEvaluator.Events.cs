using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

internal sealed partial class KpiEvaluator
{
    /// <summary>
    /// One pass over the events of the range: counts and sums by event kind, distinct visitors and
    /// active stores, and the groups that have data (every catalog event in range registers its group).
    /// </summary>
    private void ScanEvents()
    {
        var visitors = Needs(KpiId.Visitors, KpiId.ActiveUsers) ? new DistinctPairs(_projection.Pools.Users.Count + 1) : null;
        var stores = Needs(KpiId.ActiveStores) ? new DistinctPairs(_projection.Pools.Stores.Count + 1) : null;
        var periods = _grid.Count;
        var chunks = _projection.Chunks;
        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            if (chunk.Count == 0 || chunk.MaxTs < _grid.Start || chunk.MinTs >= _grid.End)
            {
                continue;
            }
            var ts = chunk.Ts;
            var flags = chunk.Flags;
            var period = 0;
            for (var i = 0; i < chunk.Count; i++)
            {
                var t = ts[i];
                if (t < _grid.Start || t >= _grid.End || (flags[i] & EventFlags.Custom) != 0 || !_scope.Matches(chunk, i))
                {
                    continue;
                }
                if (t < _grid.Bounds[period] || t >= _grid.Bounds[period + 1])
                {
                    period = _grid.Find(t);
                }
                var group = _scope.GroupOf(chunk, i);
                var cells = CellsOf(group);
                _inRange[group] = true;
                ref var cell = ref cells[period];
                var cellIndex = group * periods + period;
                switch (chunk.Kind[i])
                {
                    case EventKind.PurchaseCompleted when (flags[i] & EventFlags.Counted) != 0:
                        cell.Orders++;
                        cell.Gmv += chunk.Amount[i];
                        cell.Units += chunk.Aux[i];
                        if (stores is not null && chunk.Store[i] != 0)
                        {
                            stores.Add(cellIndex, chunk.Store[i]);
                        }
                        break;
                    case EventKind.PaymentSucceeded:
                        cell.PaySucceeded++;
                        cell.Revenue += chunk.Amount[i];
                        break;
                    case EventKind.PaymentFailed:
                        cell.PayFailed++;
                        break;
                    case EventKind.LeadCreated:
                        cell.Leads++;
                        break;
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
                    case EventKind.OrderStatusChanged when (flags[i] & EventFlags.Counted) != 0:
                        if (chunk.Aux[i] == (int)FinalStatus.Delivered)
                        {
                            cell.DeliveredOrders++;
                            cell.DeliveredGmv += chunk.Amount[i];
                            cell.Commissions += _projection.Commission(c * EventChunk.Size + i);
                        }
                        else if (chunk.Aux[i] == (int)FinalStatus.Refunded)
                        {
                            cell.Refunds += chunk.Amount[i];
                        }
                        break;
                }
                if (visitors is not null && chunk.User[i] != 0)
                {
                    visitors.Add(cellIndex, chunk.User[i]);
                }
            }
        }
        visitors?.Count((cell, n) => _cells[cell / periods][cell % periods].Visitors = n);
        stores?.Count((cell, n) => _cells[cell / periods][cell % periods].ActiveStores = n);
    }

    /// <summary>Sessions whose first event is in the range and matches the filters; they take its period and group.</summary>
    private void ScanSessions()
    {
        for (var s = 1; s <= _projection.SessionCount; s++)
        {
            var row = _projection.Session(s);
            if (row.Events == 0 || row.FirstTs < _grid.Start || row.FirstTs >= _grid.End)
            {
                continue;
            }
            var chunk = _projection.Chunk(row.FirstEvent);
            var i = row.FirstEvent & (EventChunk.Size - 1);
            if (!_scope.Matches(chunk, i))
            {
                continue;
            }
            var group = _scope.GroupOf(chunk, i);
            ref var cell = ref CellsOf(group)[_grid.Find(row.FirstTs)];
            _inRange[group] = true;
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
        }
    }
}
