using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Kpi.Analysis;

/// <summary>One product's figures over the range.</summary>
public sealed record ProductFigures(string ProductId, string? ProductName, string? StoreId, double Revenue, long Units, long Orders, long Views);

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
    public static IReadOnlyList<ProductFigures> Run(KpiProjection projection, ProductOrder orderBy, int limit, long from, long to, DimensionFilter filter, AccessScope scope)
    {
        var matcher = new ScopeMatcher(projection, filter, [], scope);
        var figures = new Dictionary<(int Product, int Store), (double Revenue, long Units, long Orders, long Views)>();
        var items = projection.Items;
        var events = items.Event;
        var lastOrder = new Dictionary<(int, int), int>();
        for (var k = 0; k < items.Count; k++)
        {
            var index = events[k];
            var chunk = projection.Chunk(index);
            var i = index & (EventChunk.Size - 1);
            var t = chunk.Ts[i];
            if (t < from || t >= to || (chunk.Flags[i] & EventFlags.Counted) == 0 || !matcher.Matches(chunk, i))
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
                if (chunk.Kind[i] != EventKind.ProductViewed || chunk.Ts[i] < from || chunk.Ts[i] >= to || chunk.Aux[i] == 0 || !matcher.Matches(chunk, i))
                {
                    continue;
                }
                var key = (chunk.Aux[i], projection.StoreOf(chunk, i));
                var f = figures.GetValueOrDefault(key);
                f.Views++;
                figures[key] = f;
            }
        }
        var rows = figures.Where(f => f.Key.Product != 0).Select(f => new ProductFigures(
            projection.Pools.Products[f.Key.Product]!, projection.ProductNameOf(f.Key.Product, f.Key.Store),
            f.Key.Store == 0 ? null : projection.Pools.Stores[f.Key.Store],
            f.Value.Revenue, f.Value.Units, f.Value.Orders, f.Value.Views));
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
