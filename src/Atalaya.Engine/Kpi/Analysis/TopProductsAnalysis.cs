using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Kpi.Analysis;

/// <summary>One product's figures over the range.</summary>
public sealed record ProductFigures(string ProductId, string? ProductName, string? StoreId, double Revenue, long Units, long Orders, long Views)
{
    /// <summary>add_to_cart events naming the product (product_metrics mart; not part of the top-products answer).</summary>
    public long AddToCarts { get; init; }
}

/// <summary>How to rank products.</summary>
public enum ProductOrder
{
    Revenue,
    Units,
    Orders,
    Views,
}

/// <summary>
/// Products ranked by revenue, units, orders or views over the range: items of the counted orders
/// (revenue = price × quantity in the reporting currency) and product_viewed events, per product
/// and selling store, within the filters.
///
/// Plan (a catalog of tens of thousands of products must not cost more than the range's events):
/// the range's purchases come from the purchase kind's own columns (zone maps skip the rest of
/// history) and their items from the item table, both in storage order, walked side by side; the
/// views and cart adds from their kinds' entries; figures add up in a table indexed by product id
/// (<see cref="ProductTally"/>); only the <c>limit</c> best are kept (a bounded heap), and only
/// they are turned into answer rows. Sums are added in storage order, so figures are the same to
/// the last bit as adding item by item.
/// </summary>
internal static class TopProductsAnalysis
{
    /// <param name="deliveredOnly">Only orders whose latest final status now is ENTREGADO (<c>orders=delivered</c>); views are unchanged.</param>
    /// <param name="withCartOnly">Also products only added to carts (neither viewed nor ordered in the range): the product_metrics mart wants them, the top-products answer does not.</param>
    public static IReadOnlyList<ProductFigures> Run(KpiProjection projection, ProductOrder orderBy, int limit, long from, long to, DimensionFilter filter, AccessScope scope,
        bool withCartOnly = false, bool deliveredOnly = false)
    {
        using var matcher = new ScopeMatcher(projection, filter, [], scope);
        var delivered = deliveredOnly ? projection.DeliveredPurchases() : null;
        using var tally = new ProductTally(projection.Pools.Products.Count + 1);
        AddSales(projection, tally, from, to, matcher, delivered);
        AddEvents(projection, tally, EventKind.ProductViewed, from, to, matcher);
        AddEvents(projection, tally, EventKind.AddToCart, from, to, matcher);
        return Rank(projection, tally, orderBy, limit, withCartOnly);
    }

    /// <summary>The items of the counted purchases in [from, to) inside the filters: revenue, units and the orders holding each product.</summary>
    private static void AddSales(KpiProjection projection, ProductTally tally, long from, long to, ScopeMatcher matcher, IReadOnlySet<int>? delivered)
    {
        var purchases = projection.Kinds[EventKind.PurchaseCompleted];
        var purchaseEvents = purchases.Events;
        var ts = purchases.Ts;
        var combos = purchases.Combo;
        var counted = purchases.Counted;
        var items = projection.Items;
        var itemEvents = items.Event;
        var products = items.Product;
        var quantities = items.Quantity;
        var revenues = items.Revenue;
        foreach (var (start, length) in purchases.BlocksIn(from, to))
        {
            // Both tables are in storage order: a purchase's items are the run of entries naming its index.
            var j = FirstAtOrAfter(itemEvents, purchaseEvents[start]);
            for (var k = start; k < start + length; k++)
            {
                var index = purchaseEvents[k];
                while (j < itemEvents.Length && itemEvents[j] < index)
                {
                    j++;
                }
                var t = ts[k];
                if (t < from || t >= to || !counted[k] || !matcher.MatchesCombo(combos[k]) || delivered?.Contains(index) == false)
                {
                    continue;
                }
                var store = projection.Combos[combos[k]].Store;
                for (; j < itemEvents.Length && itemEvents[j] == index; j++)
                {
                    ref var sums = ref tally.At(products[j], store);
                    sums.Revenue += revenues[j];
                    sums.Units += quantities[j];
                    if (sums.LastOrder != index)
                    {
                        sums.Orders++;
                        sums.LastOrder = index;
                    }
                }
            }
        }
    }

    /// <summary>product_viewed or add_to_cart events in [from, to) inside the filters, per product (the event's aux) and store.</summary>
    private static void AddEvents(KpiProjection projection, ProductTally tally, EventKind kind, long from, long to, ScopeMatcher matcher)
    {
        var columns = projection.Kinds[kind];
        var events = columns.Events;
        foreach (var (start, length) in columns.BlocksIn(from, to))
        {
            for (var k = start; k < start + length; k++)
            {
                var index = events[k];
                var chunk = projection.Chunk(index);
                var i = index & (EventChunk.Size - 1);
                var t = chunk.Ts[i];
                var product = chunk.Aux[i];
                if (t < from || t >= to || product == 0 || !matcher.Matches(chunk, i))
                {
                    continue;
                }
                ref var sums = ref tally.At(product, projection.StoreOf(chunk, i));
                if (kind == EventKind.ProductViewed)
                {
                    sums.Views++;
                }
                else
                {
                    sums.AddToCarts++;
                }
            }
        }
    }

    /// <summary>The first position whose value is at least <paramref name="value"/> in an ascending span.</summary>
    private static int FirstAtOrAfter(ReadOnlySpan<int> ascending, int value)
    {
        int low = 0, high = ascending.Length;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (ascending[mid] < value)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return low;
    }

    /// <summary>One (product, store) with the figure it is ranked by.</summary>
    private readonly record struct Candidate(double Rank, int Product, int Store, ProductTally.Sums Sums);

    /// <summary>The <paramref name="limit"/> best (product, store) pairs: rank descending, then product_id, then store_id (ordinal).</summary>
    private static List<ProductFigures> Rank(KpiProjection projection, ProductTally tally, ProductOrder orderBy, int limit, bool withCartOnly)
    {
        var productIds = projection.Pools.Products;
        var storeIds = projection.Pools.Stores;
        int Compare(Candidate a, Candidate b)
        {
            var c = b.Rank.CompareTo(a.Rank);
            if (c != 0)
            {
                return c;
            }
            c = string.CompareOrdinal(productIds[a.Product], productIds[b.Product]);
            return c != 0 ? c : string.CompareOrdinal(a.Store == 0 ? null : storeIds[a.Store], b.Store == 0 ? null : storeIds[b.Store]);
        }

        // The worst kept candidate at the root: a candidate that ranks after it is dropped with one comparison.
        var kept = new PriorityQueue<Candidate, Candidate>(Comparer<Candidate>.Create((a, b) => Compare(b, a)));
        foreach (var (product, store, sums) in tally.Entries())
        {
            if (product == 0 || (!withCartOnly && sums.Views + sums.Orders == 0))
            {
                continue;
            }
            var rank = orderBy switch
            {
                ProductOrder.Units => sums.Units,
                ProductOrder.Orders => sums.Orders,
                ProductOrder.Views => sums.Views,
                _ => sums.Revenue,
            };
            var candidate = new Candidate(rank, product, store, sums);
            if (kept.Count < limit)
            {
                kept.Enqueue(candidate, candidate);
            }
            else if (limit > 0 && Compare(candidate, kept.Peek()) < 0)
            {
                kept.DequeueEnqueue(candidate, candidate);
            }
        }
        var best = new List<Candidate>(kept.Count);
        while (kept.Count > 0)
        {
            best.Add(kept.Dequeue());
        }
        best.Reverse();
        return best.ConvertAll(c => new ProductFigures(productIds[c.Product]!, projection.ProductNameOf(c.Product, c.Store),
            c.Store == 0 ? null : storeIds[c.Store], c.Sums.Revenue, c.Sums.Units, c.Sums.Orders, c.Sums.Views)
        { AddToCarts = c.Sums.AddToCarts });
    }
}
