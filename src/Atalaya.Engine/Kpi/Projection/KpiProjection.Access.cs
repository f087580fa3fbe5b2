using Atalaya.Engine.Catalog;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>Read access for the query code (callers hold <see cref="KpiProjection.Read"/>).</summary>
public sealed partial class KpiProjection
{
    internal IReadOnlyList<EventChunk> Chunks => _chunks;

    internal int SessionCount => Pools.Sessions.Count;

    internal SessionRow Session(int id) => _sessions.Get(id);

    internal ItemTable Items => _items;

    /// <summary>Distinct visitors of whole periods counted from the visit log, reused while they hold.</summary>
    internal Query.VisitorCache VisitorCounts { get; } = new();

    /// <summary>customer_churn_rate's and store_churn_rate's tallies, carried on from query to query (see <see cref="Query.ChurnTally"/>).</summary>
    internal Query.KeptTallies<Query.ChurnTally> Churn { get; } = new();

    /// <summary>New and returning customers over everything, carried on from query to query (see <see cref="Query.CustomerTally"/>).</summary>
    internal Query.KeptTallies<Query.CustomerTally> CustomerTallies { get; } = new();

    /// <summary>New and returning customers per grouping, carried on from query to query (see <see cref="Query.GroupCustomerTally"/>).</summary>
    internal Query.KeptTallies<Query.GroupCustomerTally> GroupCustomerTallies { get; } = new();

    /// <summary>The rollup tables' sums of whole periods per group key, reused while their days are unchanged.</summary>
    internal Query.RollupSums KeptSums { get; } = new();

    /// <summary>Each grouping's group keys numbered, extended as combinations are added (<see cref="Query.ScopeMatcher.GroupOfCombo"/>, <see cref="Query.ScopeMatcher.GroupCount"/>).</summary>
    internal Query.GroupKeyNumbers GroupKeyNumbers { get; } = new();

    internal string? ProductNameOf(int product, int store) => _productNames.GetValueOrDefault(ProductKey(product, store)).Name;

    /// <summary>The id of a dimension value in its pool (0 when never seen).</summary>
    internal int FindValue(Dimension d, string value) =>
        d == Dimension.StoreId ? Pools.Stores.Find(value) : Pools.Dimension.Find(value);

    internal string? ValueName(Dimension d, int id) =>
        d == Dimension.StoreId ? Pools.Stores[id] : Pools.Dimension[id];

    /// <summary>A known store's dimension row, or null.</summary>
    internal StoreRow? StoreRowOf(string storeId)
    {
        var id = Pools.Stores.Find(storeId);
        return id != 0 && _stores.Get(id) is { Known: true } row ? row : null;
    }

    /// <summary>The ids of the known stores with this country and category.</summary>
    internal IEnumerable<string> StoresWith(int country, int category)
    {
        for (var id = 1; id <= Pools.Stores.Count; id++)
        {
            if (_stores.Get(id) is { Known: true } row && row.Country == country && row.Category == category)
            {
                yield return Pools.Stores[id]!;
            }
        }
    }

    internal int StoreOf(EventChunk chunk, int i) => Combos[chunk.Combo[i]].Store;

    /// <summary>The final status events timed in [<paramref name="from"/>, <paramref name="to"/>), and how many name an order with no purchase_completed.</summary>
    internal (long Statuses, long UnknownOrders) FinalStatusesOfUnknownOrders(long from, long to)
    {
        long statuses = 0, unknown = 0;
        foreach (var order in Ledger.Orders)
        {
            var known = _orderFirst.Get(order) >= 0;
            foreach (var fact in Ledger.FactsOf(order))
            {
                if (fact.Ts >= from && fact.Ts < to)
                {
                    statuses++;
                    unknown += known ? 0 : 1;
                }
            }
        }
        return (statuses, unknown);
    }

    /// <summary>The last <see cref="DeliveredPurchases"/> and the event count it was built at.</summary>
    private sealed record DeliveredSet(long Events, IReadOnlySet<int> Purchases);

    private DeliveredSet? _delivered;

    /// <summary>
    /// The purchases (projection indexes) of the orders whose latest final status now is ENTREGADO:
    /// <c>orders=delivered</c>. Built from every order of the ledger, so it is kept until the next
    /// event is applied (readers hold the read lock, so no event is applied while one uses it; the
    /// set is only read once built).
    /// </summary>
    internal IReadOnlySet<int> DeliveredPurchases()
    {
        if (Volatile.Read(ref _delivered) is { } cached && cached.Events == Count)
        {
            return cached.Purchases;
        }
        var delivered = BuildDeliveredPurchases();
        Volatile.Write(ref _delivered, new DeliveredSet(Count, delivered));
        return delivered;
    }

    private HashSet<int> BuildDeliveredPurchases()
    {
        var delivered = new HashSet<int>();
        foreach (var order in Ledger.Orders)
        {
            if (Ledger.LatestStatus(order) == FinalStatus.Delivered && _orderFirst.Get(order) is >= 0 and var purchase)
            {
                delivered.Add(purchase);
            }
        }
        return delivered;
    }

    /// <summary>The index of the purchase that is <paramref name="order"/>, or -1.</summary>
    internal int PurchaseOf(int order) => _orderFirst.Get(order);
}
