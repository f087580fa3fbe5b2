using System.Collections.Frozen;
using System.Text.Json;

namespace Atalaya.Engine.Collect;

/// <summary>
/// What the Segment spec itself defines (docs/collector.md, "Segment e-commerce spec"): the
/// e-commerce event names the catalog has types for, and the properties the spec defines for its
/// calls. A Segment message carrying them is the SDK working as documented, so the catalog's
/// properties a message lacks are derived from the spec's (<see cref="WriteDerived"/>) and the
/// spec's own names are never reported as schema drift.
/// </summary>
internal static class SegmentSpec
{
    /// <summary>Spec event names → catalog types; other names become snake_case (custom or catalog) types.</summary>
    public static readonly FrozenDictionary<string, string> EcommerceNames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["Product Viewed"] = "product_viewed",
        ["Product Added"] = "add_to_cart",
        ["Checkout Started"] = "checkout_started",
        ["Order Completed"] = "purchase_completed",
        ["Products Searched"] = "product_searched",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Properties the Segment spec defines on products, orders, carts, coupons, searches and pages
    /// (plus a page's or screen's <c>name</c>): a Segment message sending them is not drifting.
    /// </summary>
    public static readonly FrozenSet<string> SpecProperties = new[]
    {
        // Products (Product Viewed / Added / Removed / Clicked, and each entry of products[]).
        "product_id", "sku", "category", "name", "brand", "variant", "price", "quantity", "coupon", "position", "url", "image_url",
        "currency", "value",
        // Orders and checkouts.
        "order_id", "checkout_id", "affiliation", "total", "subtotal", "revenue", "shipping", "tax", "discount", "products", "items",
        "delivery_fee", "payment_method", "shipping_method", "step",
        // Carts, lists, coupons, promotions, searches, wishlists, reviews.
        "cart_id", "list_id", "filters", "sorts", "coupon_id", "coupon_name", "reason", "query", "promotion_id", "creative",
        "wishlist_id", "wishlist_name", "review_id", "review_body", "rating", "share_via", "share_message", "recipient",
        // Pages and screens.
        "path", "referrer", "search", "title", "keywords",
        // RudderStack's page properties on top of Segment's.
        "referring_domain", "tab_url", "initial_referrer", "initial_referring_domain",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The catalog types whose events name a store.</summary>
    private static readonly FrozenSet<string> StoreTypes =
        new[] { "product_viewed", "add_to_cart", "checkout_started", "purchase_completed" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Writes the catalog properties a spec message lacks, derived from the spec's
    /// (<c>store_id</c> ← <c>affiliation</c> or the first product's, <c>total</c> ← <c>revenue</c>
    /// or <c>value</c>, <c>subtotal</c> ← total − shipping − tax + discount, <c>delivery_fee</c> ← 0).
    /// Only names absent from <paramref name="properties"/> are written, so a sender's own value
    /// always wins. Nothing is invented: what cannot be derived stays absent.
    /// </summary>
    public static void WriteDerived(Utf8JsonWriter writer, JsonElement properties, string eventType)
    {
        var has = properties.ValueKind == JsonValueKind.Object;
        if (StoreTypes.Contains(eventType) && !(has && properties.TryGetProperty("store_id", out _)))
        {
            var store = has ? Text(properties, "affiliation") ?? FirstProductStore(properties) : null;
            if (store is { Length: > 0 })
            {
                writer.WriteString("store_id", store);
            }
        }
        if (eventType is not ("checkout_started" or "purchase_completed"))
        {
            return;
        }
        var total = has ? Number(properties, "total") ?? Number(properties, "revenue") ?? Number(properties, "value") : null;
        if (total is { } t && !properties.TryGetProperty("total", out _)) // has is true when total is known
        {
            writer.WriteNumber("total", t);
        }
        if (eventType != "purchase_completed")
        {
            return;
        }
        if (!(has && properties.TryGetProperty("subtotal", out _)))
        {
            decimal? subtotal = has && Number(properties, "total") is { } sent
                ? sent - (Number(properties, "shipping") ?? 0) - (Number(properties, "tax") ?? 0) + (Number(properties, "discount") ?? 0)
                : has ? Number(properties, "revenue") : null;
            if (subtotal is { } s)
            {
                writer.WriteNumber("subtotal", Math.Max(0, s));
            }
        }
        if (!(has && (properties.TryGetProperty("delivery_fee", out _) || properties.TryGetProperty("shipping", out _))))
        {
            // The spec's shipping is optional; an order sent without it had no delivery fee.
            writer.WriteNumber("delivery_fee", 0);
        }
    }

    private static string? FirstProductStore(JsonElement properties)
    {
        if (properties.TryGetProperty("products", out var products) && products.ValueKind == JsonValueKind.Array)
        {
            foreach (var product in products.EnumerateArray())
            {
                return product.ValueKind == JsonValueKind.Object ? Text(product, "store_id") : null;
            }
        }
        return null;
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static decimal? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) ? d : null;

    /// <summary>A spec currency sent in lower case ("usd", as in the spec's own examples) as the ISO 4217 code.</summary>
    public static bool TryUpperCurrency(JsonElement value, out string code)
    {
        code = "";
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: 3 } text || !text.All(char.IsAsciiLetter))
        {
            return false;
        }
        code = text.ToUpperInvariant();
        return code != text;
    }
}
