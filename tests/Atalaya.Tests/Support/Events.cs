using System.Text.Json.Nodes;

namespace Atalaya.Tests.Support;

/// <summary>Minimal valid native events of every catalog type, to be varied by tests.</summary>
public static class Events
{
    public static JsonObject Valid(string type, string? id = null)
    {
        var e = new JsonObject
        {
            ["event_id"] = id ?? Guid.NewGuid().ToString(),
            ["event_type"] = type,
            ["timestamp"] = "2026-03-01T12:00:00Z",
            ["session_id"] = "s-1",
            ["user_id"] = "u-1",
            ["context"] = new JsonObject { ["page_url"] = "https://shop.example/", ["country"] = "MX" },
        };
        var properties = Properties(type);
        if (properties is not null)
        {
            e["properties"] = properties;
        }
        return e;
    }

    public static JsonObject? Properties(string type) => type switch
    {
        "store_visited" => new() { ["store_id"] = "st-1" },
        "product_viewed" => new()
        {
            ["product_id"] = "p-1",
            ["product_name"] = "Tacos",
            ["product_price"] = 85.5,
            ["product_category"] = "food",
            ["store_id"] = "st-1",
            ["store_name"] = "Taquería",
        },
        "product_searched" => new() { ["query"] = "tacos" },
        "add_to_cart" => new() { ["product_id"] = "p-1", ["quantity"] = 2, ["price"] = 85.5, ["store_id"] = "st-1" },
        "checkout_started" => new() { ["store_id"] = "st-1", ["total"] = 171 },
        "purchase_completed" => new()
        {
            ["order_id"] = "o-1",
            ["store_id"] = "st-1",
            ["total"] = 201,
            ["subtotal"] = 171,
            ["delivery_fee"] = 30,
            ["currency"] = "MXN",
            ["items"] = new JsonArray(new JsonObject { ["product_id"] = "p-1", ["quantity"] = 2, ["price"] = 85.5 }),
        },
        "order_status_changed" => new()
        {
            ["order_id"] = "o-1",
            ["store_id"] = "st-1",
            ["status"] = "ENTREGADO",
            ["snapshot"] = new JsonObject
            {
                ["subtotal"] = 171,
                ["delivery_fee"] = 30,
                ["discount"] = 0,
                ["tax"] = 0,
                ["total"] = 201,
                ["commission_amount"] = 25.65,
                ["currency"] = "MXN",
                ["fx_rate_to_reporting"] = 0.055,
            },
        },
        "payment_succeeded" or "payment_failed" => new() { ["payment_id"] = "pay-1", ["amount"] = 201, ["currency"] = "MXN", ["provider"] = "stripe" },
        "lead_created" => new() { ["lead_id"] = "l-1", ["source"] = "web", ["priority"] = "high" },
        "store_created" => new()
        {
            ["store_id"] = "st-1",
            ["store_name"] = "Taquería",
            ["country"] = "MX",
            ["hub"] = "cdmx-norte",
            ["zone"] = "z1",
            ["category"] = "restaurant",
        },
        "subscription_charged" => new() { ["store_id"] = "st-1", ["amount"] = 499, ["currency"] = "MXN", ["plan"] = "pro" },
        "inventory_snapshot" => new() { ["store_id"] = "st-1", ["product_id"] = "p-1", ["quantity_available"] = 12 },
        "courier_assigned" => new() { ["order_id"] = "o-1", ["courier_id"] = "c-0042" },
        _ => null,
    };
}
