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
/// </summary>
internal static class TopProductsAnalysis
{
    /// <param name="deliveredOnly">Only orders whose latest final status now is ENTREGADO (<c>orders=delivered</c>); views are unchanged.</param>
    /// <param name="withCartOnly">Also products only added to carts (neither viewed nor ordered in the range): the product_metrics mart wants them, the top-products answer does not.</param>
    public static IReadOnlyList<ProductFigures> Run(KpiProjection projection, ProductOrder orderBy, int limit, long from, long to, DimensionFilter filter, AccessScope scope,
        bool withCartOnly = false, bool deliveredOnly = false)
    {
        var matcher = new ScopeMatcher(projection, filter, [], scope);
        var delivered = deliveredOnly ? projection.DeliveredPurchases() : null;
        var figures = new Dictionary<(int Product, int Store), (double Revenue, long Units, long Orders, long Views, long AddToCarts)>();
        var items = projection.Items;
        var events = items.Event;
        var lastOrder = new Dictionary<(int, int), int>();
        for (var k = 0; k < items.Count; k++)
        {
            var index = events[k];
            var chunk = projection.Chunk(index);
            var i = index & (EventChunk.Size - 1);
            var t = chunk.Ts[i];
            if (t < from || t >= to || (chunk.Flags[i] & EventFlags.Counted) == 0 || !matcher.Matches(chunk, i) || delivered?.Contains(index) == false)
            {
                continue;
            }
            var key = (items.Product[k], projection.StoreOf(chunk, i));
            var f = figures.GetValueOrDefault(key);
            f.Revenue += items.Revenue[k];
            f.Units += items.Quantity[k];
            if (lastOrder.GetValueOrDefault(key, -1) != index)
            {
                f.Orders++;
                lastOrder[key] = index;
            }
            figures[key] = f;
        }
        foreach (var chunk in projection.Chunks)
        {
            if (chunk.Count == 0 || chunk.MaxTs < from || chunk.MinTs >= to)
            {
                continue;
            }
            for (var i = 0; i < chunk.Count; i++)
            {
                var kind = chunk.Kind[i];
                if (kind is not (EventKind.ProductViewed or EventKind.AddToCart) || chunk.Ts[i] < from || chunk.Ts[i] >= to || chunk.Aux[i] == 0
                    || !matcher.Matches(chunk, i))
                {
                    continue;
                }
                var key = (chunk.Aux[i], projection.StoreOf(chunk, i));
                var f = figures.GetValueOrDefault(key);
                if (kind == EventKind.ProductViewed)
                {
                    f.Views++;
                }
                else
                {
                    f.AddToCarts++;
                }
                figures[key] = f;
            }
        }
        var rows = figures.Where(f => f.Key.Product != 0 && (withCartOnly || f.Value.Views + f.Value.Orders > 0)).Select(f => new ProductFigures(
            projection.Pools.Products[f.Key.Product]!, projection.ProductNameOf(f.Key.Product, f.Key.Store),
            f.Key.Store == 0 ? null : projection.Pools.Stores[f.Key.Store],
            f.Value.Revenue, f.Value.Units, f.Value.Orders, f.Value.Views)
        { AddToCarts = f.Value.AddToCarts });
        Func<ProductFigures, double> rank = orderBy switch
        {
            ProductOrder.Units => p => p.Units,
            ProductOrder.Orders => p => p.Orders,
            ProductOrder.Views => p => p.Views,
            _ => p => p.Revenue,
        };
        return rows.OrderByDescending(rank).ThenBy(p => p.ProductId, StringComparer.Ordinal)
            .ThenBy(p => p.StoreId, StringComparer.Ordinal).Take(limit).ToList();
    }
}
