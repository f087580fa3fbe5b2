using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Atalaya.Tests.Robustness;

/// <summary>
/// Valid native events of every catalog type (docs/events.md), each with the paths of its required
/// fields, so that generators can break exactly one thing. The bad-input tests first check that
/// every template is accepted as is: a broken copy is then bad because of the break alone.
/// </summary>
public static class SampleEvents
{
    public const string Timestamp = "2026-03-01T12:00:00Z";

    private static readonly JsonSerializerOptions TextOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The envelope fields every native event must carry.</summary>
    public static IReadOnlyList<string> EnvelopeFields { get; } = ["event_id", "event_type", "timestamp"];

    public static IReadOnlyList<EventTemplate> Templates { get; } =
    [
        new("page_view", PageView, ["context.page_url", "context"]),
        new("custom", Custom, []),
        new("store_visited", id => Typed(id, "store_visited", new JsonObject { ["store_id"] = "st-1" }), ["properties.store_id"]),
        new("product_viewed", id => Typed(id, "product_viewed", new JsonObject
        {
            ["product_id"] = "p-1",
            ["product_name"] = "Tacos al pastor",
            ["product_price"] = 89.5,
            ["product_category"] = "food",
            ["store_id"] = "st-1",
            ["store_name"] = "Taquería Norte",
        }), ["properties.product_id", "properties.product_name", "properties.product_price", "properties.product_category", "properties.store_id", "properties.store_name"]),
        new("product_searched", id => Typed(id, "product_searched", new JsonObject { ["query"] = "tacos" }), ["properties.query"]),
        new("add_to_cart", id => Typed(id, "add_to_cart", new JsonObject
        {
            ["product_id"] = "p-1",
            ["quantity"] = 2,
            ["price"] = 89.5,
            ["store_id"] = "st-1",
        }), ["properties.product_id", "properties.quantity", "properties.price", "properties.store_id"]),
        new("checkout_started", id => Typed(id, "checkout_started", new JsonObject { ["store_id"] = "st-1", ["total"] = 199.0 }), ["properties.store_id", "properties.total"]),
        new("purchase_completed", Purchase,
            ["properties.order_id", "properties.store_id", "properties.total", "properties.subtotal", "properties.delivery_fee",
             "properties.currency", "properties.items", "properties.items[0].product_id", "properties.items[0].quantity", "properties.items[0].price"]),
        new("order_status_changed", id => Typed(id, "order_status_changed", new JsonObject
        {
            ["order_id"] = "o-" + id,
            ["store_id"] = "st-1",
            ["status"] = "EN_CAMINO",
        }), ["properties.order_id", "properties.store_id", "properties.status"]),
        new("order_delivered", OrderDelivered,
            ["properties.snapshot", "properties.snapshot.total", "properties.snapshot.currency", "properties.snapshot.subtotal"]),
        new("payment_succeeded", id => Payment(id, "payment_succeeded"), ["properties.payment_id", "properties.amount", "properties.currency", "properties.provider"]),
        new("payment_failed", id => Payment(id, "payment_failed"), ["properties.payment_id", "properties.amount", "properties.currency", "properties.provider"]),
        new("lead_created", id => Typed(id, "lead_created", new JsonObject { ["lead_id"] = "l-1", ["source"] = "web", ["priority"] = "high" }),
            ["properties.lead_id", "properties.source", "properties.priority"]),
        new("user_signed_up", UserSignedUp, ["user_id"]),
        new("store_created", id => Typed(id, "store_created", new JsonObject
        {
            ["store_id"] = "st-9",
            ["store_name"] = "Farmacia Sur",
            ["country"] = "MX",
            ["hub"] = "cdmx-norte",
            ["zone"] = "z1",
            ["category"] = "pharmacy",
        }), ["properties.store_id", "properties.store_name", "properties.country", "properties.hub", "properties.zone", "properties.category"]),
        new("subscription_charged", id => Typed(id, "subscription_charged", new JsonObject
        {
            ["store_id"] = "st-1",
            ["amount"] = 499.0,
            ["currency"] = "MXN",
            ["plan"] = "pro",
        }), ["properties.store_id", "properties.amount", "properties.currency", "properties.plan"]),
    ];

    /// <summary>Money fields (paths) of the catalog templates, for non-finite and wrong-type amounts.</summary>
    public static IReadOnlyList<(string Template, string Path)> MoneyFields { get; } =
    [
        ("purchase_completed", "properties.total"),
        ("purchase_completed", "properties.subtotal"),
        ("purchase_completed", "properties.delivery_fee"),
        ("purchase_completed", "properties.items[0].price"),
        ("product_viewed", "properties.product_price"),
        ("add_to_cart", "properties.price"),
        ("checkout_started", "properties.total"),
        ("payment_succeeded", "properties.amount"),
        ("payment_failed", "properties.amount"),
        ("subscription_charged", "properties.amount"),
        ("order_delivered", "properties.snapshot.total"),
        ("order_delivered", "properties.snapshot.tax"),
    ];

    public static EventTemplate Template(string name) => Templates.Single(t => t.Name == name);

    public static JsonObject PageView(string id) => new()
    {
        ["event_id"] = id,
        ["event_type"] = "page_view",
        ["timestamp"] = Timestamp,
        ["session_id"] = "s1",
        ["context"] = new JsonObject { ["page_url"] = "https://shop.example/" },
    };

    public static JsonObject Custom(string id) => new()
    {
        ["event_id"] = id,
        ["event_type"] = "my_custom_thing",
        ["timestamp"] = Timestamp,
        ["properties"] = new JsonObject { ["note"] = "hola, café ☕" },
    };

    public static JsonObject Purchase(string id) => Typed(id, "purchase_completed", new JsonObject
    {
        ["order_id"] = "o-" + id,
        ["store_id"] = "st-1",
        ["total"] = 219.0,
        ["subtotal"] = 179.0,
        ["delivery_fee"] = 40.0,
        ["currency"] = "MXN",
        ["payment_method"] = "card",
        ["items"] = new JsonArray(
            new JsonObject { ["product_id"] = "p-1", ["quantity"] = 2, ["price"] = 89.5 }),
    });

    /// <summary>A Segment <c>track</c> message (docs/collector.md (Segment-compatible events)) with the given messageId.</summary>
    public static JsonObject SegmentTrack(string messageId) => new()
    {
        ["type"] = "track",
        ["event"] = "Coupon Applied",
        ["messageId"] = messageId,
        ["anonymousId"] = "anon-1",
        ["timestamp"] = Timestamp,
        ["properties"] = new JsonObject { ["coupon"] = "HOLA10" },
    };

    /// <summary>Compact JSON text with non-ASCII kept as is, so bodies carry real multi-byte UTF-8.</summary>
    public static string Text(JsonNode node) => node.ToJsonString(TextOptions);

    /// <summary>Serializes a node compactly as UTF-8 (no trailing whitespace, so any proper prefix is invalid JSON).</summary>
    public static byte[] Utf8(JsonNode node) => Encoding.UTF8.GetBytes(Text(node));

    public static byte[] Ndjson(IEnumerable<JsonNode> events) =>
        Encoding.UTF8.GetBytes(string.Concat(events.Select(e => Text(e) + "\n")));

    public static byte[] Gzip(ReadOnlySpan<byte> bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }
        return output.ToArray();
    }

    /// <summary>Finds the parent of a dotted path like <c>properties.items[0].price</c> and the last segment.</summary>
    public static (JsonNode Parent, string Key, int? Index) Locate(JsonObject root, string path)
    {
        JsonNode current = root;
        var segments = path.Split('.');
        for (var i = 0; i < segments.Length - 1; i++)
        {
            current = Step(current, segments[i]);
        }
        var last = segments[^1];
        var bracket = last.IndexOf('[', StringComparison.Ordinal);
        if (bracket < 0)
        {
            return (current, last, null);
        }
        var index = int.Parse(last[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
        return (current[last[..bracket]]!, last[..bracket], index);
    }

    /// <summary>Replaces the value at a path (the event is a fresh copy from a template).</summary>
    public static JsonObject Set(JsonObject root, string path, JsonNode? value)
    {
        var (parent, key, index) = Locate(root, path);
        if (index is { } i)
        {
            parent[i] = value;
        }
        else
        {
            parent[key] = value;
        }
        return root;
    }

    /// <summary>Removes the value at a path.</summary>
    public static JsonObject Remove(JsonObject root, string path)
    {
        var (parent, key, index) = Locate(root, path);
        if (index is { } i)
        {
            parent.AsArray().RemoveAt(i);
        }
        else
        {
            parent.AsObject().Remove(key);
        }
        return root;
    }

    private static JsonNode Step(JsonNode node, string segment)
    {
        var bracket = segment.IndexOf('[', StringComparison.Ordinal);
        if (bracket < 0)
        {
            return node[segment] ?? throw new KeyNotFoundException(segment);
        }
        var index = int.Parse(segment[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
        return node[segment[..bracket]]![index] ?? throw new KeyNotFoundException(segment);
    }

    private static JsonObject Typed(string id, string type, JsonObject properties) => new()
    {
        ["event_id"] = id,
        ["event_type"] = type,
        ["timestamp"] = Timestamp,
        ["session_id"] = "s1",
        ["user_id"] = "u1",
        ["properties"] = properties,
    };

    private static JsonObject OrderDelivered(string id) => Typed(id, "order_status_changed", new JsonObject
    {
        ["order_id"] = "o-" + id,
        ["store_id"] = "st-1",
        ["status"] = "ENTREGADO",
        ["snapshot"] = new JsonObject
        {
            ["subtotal"] = 179.0,
            ["delivery_fee"] = 40.0,
            ["discount"] = 0.0,
            ["tax"] = 28.64,
            ["total"] = 247.64,
            ["commission_amount"] = 26.85,
            ["currency"] = "MXN",
            ["fx_rate_to_reporting"] = 0.058,
        },
    });

    private static JsonObject Payment(string id, string type) => Typed(id, type, new JsonObject
    {
        ["payment_id"] = "pay-" + id,
        ["amount"] = 219.0,
        ["currency"] = "MXN",
        ["provider"] = "stripe",
        ["order_id"] = "o-" + id,
    });

    private static JsonObject UserSignedUp(string id) => new()
    {
        ["event_id"] = id,
        ["event_type"] = "user_signed_up",
        ["timestamp"] = Timestamp,
        ["user_id"] = "u-" + id,
    };
}
