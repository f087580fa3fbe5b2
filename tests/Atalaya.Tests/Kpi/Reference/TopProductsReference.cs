using System.Text.Json;

namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// <c>/api/analysis/top-products</c>: per product (product_id and the store that sells it) over the
/// orders and product_viewed events of the range inside the filters: revenue = Σ item price ×
/// quantity × the order's rate (an order without a rate adds nothing), units = Σ quantity, orders =
/// orders that contain it, views = its product_viewed events. product_name is the latest name seen
/// in any stored product_viewed of that product and store (all history; null if never viewed).
/// Ordered by <c>order_by</c> descending, ties by product_id, then store_id. <c>orders=delivered</c>
/// keeps the orders whose latest final status now is ENTREGADO (views stay as they are).
/// </summary>
public static class TopProductsReference
{
    public static List<ProductRow> Compute(ReferenceData data, string orderBy, int limit, DateTimeOffset start, DateTimeOffset end, DimensionFilters filters,
        string orders = "placed")
    {
        bool Inside(ReferenceEvent e) => e.Timestamp >= start && e.Timestamp < end && filters.Matches(e.Dimensions);

        var sold = data.Orders.Where(Inside).Where(o => orders == "placed" || data.LatestStatus.GetValueOrDefault(o.Text("order_id")!) == "ENTREGADO")
            .SelectMany(order => Items(order).Select(item => (Key: (Product: item.Text("product_id"), Store: order.Text("store_id")!), Order: order, Item: item)))
            .Where(line => line.Key.Product is not null)
            .GroupBy(line => line.Key)
            .ToDictionary(g => g.Key, g => g.ToList());
        var viewed = data.Events.Where(e => e.Type == "product_viewed" && Inside(e))
            .GroupBy(e => (Product: e.Text("product_id"), Store: e.Text("store_id")!))
            .ToDictionary(g => g.Key, g => g.Count());
        var names = data.Events.Where(e => e.Type == "product_viewed")
            .GroupBy(e => (Product: e.Text("product_id"), Store: e.Text("store_id")!))
            .ToDictionary(g => g.Key, g => g.Last().Text("product_name"));

        var rows = sold.Keys.Union(viewed.Keys).Select(key =>
        {
            var lines = sold.GetValueOrDefault(key) ?? [];
            return new ProductRow(key.Product!, names.GetValueOrDefault(key), key.Store,
                Revenue: (double)lines.Sum(l => l.Order.Reported(l.Item.Number("price") * l.Item.Number("quantity")) ?? 0m),
                Units: (double)lines.Sum(l => l.Item.Number("quantity")),
                Orders: lines.Select(l => l.Order.Id).Distinct(StringComparer.Ordinal).Count(),
                Views: viewed.GetValueOrDefault(key));
        });
        Func<ProductRow, double> measure = orderBy switch
        {
            "revenue" => r => r.Revenue,
            "units" => r => r.Units,
            "orders" => r => r.Orders,
            "views" => r => r.Views,
            _ => throw new ArgumentException($"Unknown order_by {orderBy}.", nameof(orderBy)),
        };
        return [.. rows.OrderByDescending(measure).ThenBy(r => r.ProductId, StringComparer.Ordinal).ThenBy(r => r.StoreId, StringComparer.Ordinal).Take(limit)];
    }

    /// <summary>An order's items, each as a small event-like reader of its JSON.</summary>
    private static IEnumerable<ItemLine> Items(ReferenceEvent order) =>
        order.Properties.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array
            ? items.EnumerateArray().Select(item => new ItemLine(item))
            : [];

    private sealed record ItemLine(JsonElement Json)
    {
        public string? Text(string name) => Json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        public decimal Number(string name) => ReferenceEvent.Number(Json, name);
    }
}
