using System.Globalization;
using System.Text.Json.Nodes;

namespace Atalaya.Tests.Kpi.Datasets;

/// <summary>
/// Explicit native events for the edge-case datasets, with deterministic ids (<c>{prefix}-0001</c>…).
/// Money events freeze their rate in the event (as source systems do) unless <c>fx</c> is null and the
/// currency is not the reporting one, which makes the hub flag them fx_rate_missing.
/// </summary>
public sealed class EventBuilder(string prefix = "ev")
{
    private readonly List<JsonObject> _events = [];
    private int _next;

    public IReadOnlyList<JsonObject> Events => _events;

    public JsonObject Add(string type, string at, string? user, string? session = null, Place? place = null,
        JsonObject? properties = null, string? anonymous = null, string? id = null)
    {
        place ??= Place.Mexico;
        var context = new JsonObject();
        foreach (var (name, value) in new[] { ("country", place.Country), ("hub", place.Hub), ("source", place.Source), ("platform", place.Platform), ("app_id", place.AppId) })
        {
            if (value is not null)
            {
                context[name] = value;
            }
        }
        var e = new JsonObject
        {
            ["event_id"] = id ?? $"{prefix}-{++_next:D4}",
            ["event_type"] = type,
            ["timestamp"] = at,
        };
        if (session is not null)
        {
            e["session_id"] = session;
        }
        if (user is not null)
        {
            e["user_id"] = user;
        }
        if (anonymous is not null)
        {
            e["anonymous_id"] = anonymous;
        }
        e["context"] = context;
        e["properties"] = properties ?? [];
        _events.Add(e);
        return e;
    }

    public JsonObject PageView(string at, string? user, string? session, Place? place = null, string? anonymous = null)
    {
        var e = Add("page_view", at, user, session, place, null, anonymous);
        e["context"]!["page_url"] = "https://shop.example/";
        return e;
    }

    public JsonObject StoreVisit(string at, string? user, string? session, string store, Place? place = null) =>
        Add("store_visited", at, user, session, place, new JsonObject { ["store_id"] = store });

    public JsonObject ProductView(string at, string? user, string? session, string store, string product, string name = "Tacos",
        Place? place = null, string? anonymous = null) =>
        Add("product_viewed", at, user, session, place, new JsonObject
        {
            ["product_id"] = product,
            ["product_name"] = name,
            ["product_price"] = 50,
            ["product_category"] = "food",
            ["store_id"] = store,
            ["store_name"] = "Store " + store,
        }, anonymous);

    public JsonObject AddToCart(string at, string? user, string? session, string store, string product = "p-1", Place? place = null, string? anonymous = null) =>
        Add("add_to_cart", at, user, session, place, new JsonObject { ["product_id"] = product, ["quantity"] = 1, ["price"] = 50, ["store_id"] = store }, anonymous);

    public JsonObject CheckoutStarted(string at, string? user, string? session, string store, Place? place = null) =>
        Add("checkout_started", at, user, session, place, new JsonObject { ["store_id"] = store, ["total"] = 100 });

    /// <summary>A purchase_completed; <paramref name="items"/> are (product, quantity, price); total = Σ items + 10 delivery unless given.</summary>
    public JsonObject Order(string at, string orderId, string store, string? user, string? session = null, decimal? total = null,
        (string Product, int Quantity, decimal Price)[]? items = null, string currency = "MXN", decimal? fx = 0.05m,
        Place? place = null, string? anonymous = null, string? id = null)
    {
        items ??= [("p-1", 2, 50m)];
        var subtotal = items.Sum(i => i.Quantity * i.Price);
        var properties = new JsonObject
        {
            ["order_id"] = orderId,
            ["store_id"] = store,
            ["total"] = total ?? subtotal + 10,
            ["subtotal"] = subtotal,
            ["delivery_fee"] = (total ?? subtotal + 10) - subtotal,
            ["currency"] = currency,
            ["items"] = new JsonArray([.. items.Select(i => new JsonObject { ["product_id"] = i.Product, ["quantity"] = i.Quantity, ["price"] = i.Price })]),
        };
        if (fx is not null)
        {
            properties["fx_rate_to_reporting"] = fx;
        }
        return Add("purchase_completed", at, user, session, place, properties, anonymous, id);
    }

    /// <summary>
    /// An order_status_changed; final statuses (ENTREGADO, CANCELADO, REEMBOLSADO) carry a snapshot,
    /// a refund's with <paramref name="refunded"/> and <paramref name="commissionReversed"/> when given.
    /// </summary>
    public JsonObject Status(string at, string orderId, string store, string status, decimal total = 110, decimal commission = 11,
        string currency = "MXN", decimal? fx = 0.05m, string? user = null, Place? place = null,
        decimal? refunded = null, decimal? commissionReversed = null)
    {
        var properties = new JsonObject { ["order_id"] = orderId, ["store_id"] = store, ["status"] = status };
        if (status is "ENTREGADO" or "CANCELADO" or "REEMBOLSADO")
        {
            var snapshot = new JsonObject
            {
                ["subtotal"] = total,
                ["delivery_fee"] = 0,
                ["discount"] = 0,
                ["tax"] = 0,
                ["total"] = total,
                ["commission_amount"] = commission,
                ["currency"] = currency,
            };
            if (fx is not null)
            {
                snapshot["fx_rate_to_reporting"] = fx;
            }
            if (refunded is not null)
            {
                snapshot["refunded_amount"] = refunded;
            }
            if (commissionReversed is not null)
            {
                snapshot["commission_reversed"] = commissionReversed;
            }
            properties["snapshot"] = snapshot;
        }
        return Add("order_status_changed", at, user, null, place ?? Place.Backend, properties);
    }

    public JsonObject Payment(string at, bool succeeded, decimal amount, string? user, string currency = "MXN", decimal? fx = 0.05m, Place? place = null)
    {
        var properties = new JsonObject
        {
            ["payment_id"] = $"pay-{_next + 1}",
            ["amount"] = amount,
            ["currency"] = currency,
            ["provider"] = "stripe",
        };
        if (fx is not null)
        {
            properties["fx_rate_to_reporting"] = fx;
        }
        return Add(succeeded ? "payment_succeeded" : "payment_failed", at, user, null, place ?? Place.Backend, properties);
    }

    public JsonObject Lead(string at, string? user, Place? place = null) =>
        Add("lead_created", at, user, null, place, new JsonObject { ["lead_id"] = $"lead-{_next + 1}", ["source"] = "web", ["priority"] = "high" });

    public JsonObject SignUp(string at, string user, string? session = null, Place? place = null) => Add("user_signed_up", at, user, session, place);

    public JsonObject StoreCreated(string at, string store, string country, string hub, string zone = "z1", string category = "food") =>
        Add("store_created", at, null, null, Place.Backend, new JsonObject
        {
            ["store_id"] = store,
            ["store_name"] = "Store " + store,
            ["country"] = country,
            ["hub"] = hub,
            ["zone"] = zone,
            ["category"] = category,
        });

    public JsonObject Inventory(string at, string store, string product, int quantity, Place? place = null) =>
        Add("inventory_snapshot", at, null, null, place ?? Place.Backend, new JsonObject { ["store_id"] = store, ["product_id"] = product, ["quantity_available"] = quantity });

    public JsonObject Subscription(string at, string store, decimal amount, decimal? fx = 0.05m, string currency = "MXN")
    {
        var properties = new JsonObject { ["store_id"] = store, ["amount"] = amount, ["currency"] = currency, ["plan"] = "pro" };
        if (fx is not null)
        {
            properties["fx_rate_to_reporting"] = fx;
        }
        return Add("subscription_charged", at, null, null, Place.Backend, properties);
    }

    /// <summary>A copy of an event under a new id (same order_id for an order: a second purchase_completed of it).</summary>
    public JsonObject Copy(JsonObject e, string? at = null, Action<JsonObject>? change = null)
    {
        var copy = e.DeepClone().AsObject();
        copy["event_id"] = $"{prefix}-{++_next:D4}";
        if (at is not null)
        {
            copy["timestamp"] = at;
        }
        change?.Invoke(copy);
        _events.Add(copy);
        return copy;
    }

    /// <summary>The same event (same event_id) sent again, possibly changed: the hub keeps the first.</summary>
    public JsonObject Resend(JsonObject e, Action<JsonObject>? change = null)
    {
        var again = e.DeepClone().AsObject();
        change?.Invoke(again);
        _events.Add(again);
        return again;
    }

    /// <summary>The events as one NDJSON body.</summary>
    public static string Ndjson(IEnumerable<JsonObject> events) =>
        string.Join('\n', events.Select(e => e.ToJsonString())) + "\n";

    public static string At(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
