using System.Globalization;
using System.Text.Json;
using Atalaya.Engine.Config;

namespace Atalaya.Engine.Webhooks;

/// <summary>A payload that could not become catalog events; the reason goes to its dead letter.</summary>
internal sealed class WebhookMappingException(string message) : Exception(message);

/// <summary>
/// Turns a provider's webhook payload into native catalog events (JSON objects the collector
/// validates and dedupes like any other). The event id is derived from the provider's own event
/// id, so a provider's retry of the same event is stored once. An event type the mapping does not
/// cover, or a covered type missing a field it needs, is a mapping failure (a dead letter): the
/// provider's endpoint should only be subscribed to the types below.
/// </summary>
internal static class WebhookMapper
{
    public const string Stripe = WebhookSettings.StripeMapping;
    public const string OrderStatus = WebhookSettings.OrderStatusMapping;

    /// <summary>Currencies whose amounts Stripe sends in whole units (no cents).</summary>
    private static readonly HashSet<string> ZeroDecimal = new(StringComparer.Ordinal)
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    };

    /// <summary>The events of a payload as one JSON array.</summary>
    public static byte[] Map(string mapping, string provider, ReadOnlySpan<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException e)
        {
            throw new WebhookMappingException($"the payload is not JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new WebhookMappingException($"the payload is a JSON {root.ValueKind}, not an object");
            }
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartArray();
                switch (mapping)
                {
                    case Stripe:
                        MapStripe(root, provider, w);
                        break;
                    case OrderStatus:
                        MapOrderStatus(root, provider, w);
                        break;
                    default:
                        throw new WebhookMappingException($"no mapping named '{mapping}'");
                }
                w.WriteEndArray();
            }
            return buffer.ToArray();
        }
    }

    /// <summary>Stripe events payment_intent.succeeded / payment_intent.payment_failed → payment_succeeded / payment_failed.</summary>
    private static void MapStripe(JsonElement root, string provider, Utf8JsonWriter w)
    {
        var type = Text(root, "type");
        var eventType = type switch
        {
            "payment_intent.succeeded" => "payment_succeeded",
            "payment_intent.payment_failed" => "payment_failed",
            _ => null,
        };
        if (eventType is null)
        {
            throw new WebhookMappingException($"the stripe mapping covers payment_intent.succeeded and payment_intent.payment_failed, not '{type}'");
        }
        var intent = Member(Member(root, "data"), "object");
        var currency = Text(intent, "currency").ToUpperInvariant();
        var minor = Number(intent, eventType == "payment_succeeded" && intent.TryGetProperty("amount_received", out _) ? "amount_received" : "amount");
        var amount = ZeroDecimal.Contains(currency) ? minor : minor / 100m;
        w.WriteStartObject();
        w.WriteString("event_id", $"{provider}:{Text(root, "id")}");
        w.WriteString("event_type", eventType);
        w.WriteString("timestamp", Time(root, "created"));
        var metadata = intent.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        if (metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty("user_id", out var user) && user.ValueKind == JsonValueKind.String)
        {
            w.WriteString("user_id", user.GetString());
        }
        w.WriteStartObject("context");
        w.WriteString("platform", "server");
        w.WriteEndObject();
        w.WriteStartObject("properties");
        w.WriteString("payment_id", Text(intent, "id"));
        w.WriteNumber("amount", amount);
        w.WriteString("currency", currency);
        w.WriteString("provider", Stripe);
        foreach (var name in new[] { "order_id", "lead_id" })
        {
            if (metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty(name, out var id) && id.ValueKind == JsonValueKind.String)
            {
                w.WriteString(name, id.GetString());
            }
        }
        if (eventType == "payment_failed" && intent.TryGetProperty("last_payment_error", out var error) && error.ValueKind == JsonValueKind.Object
            && error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String)
        {
            w.WriteString("failure_code", code.GetString());
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>
    /// An order system's status change: <c>{"id", "type": "order.status_changed", "occurred_at",
    /// "order": {"id", "store_id", "status", "snapshot"?}}</c> → order_status_changed (the catalog
    /// checks the status and, on a final status, the snapshot).
    /// </summary>
    private static void MapOrderStatus(JsonElement root, string provider, Utf8JsonWriter w)
    {
        var type = Text(root, "type");
        if (type != "order.status_changed")
        {
            throw new WebhookMappingException($"the order_status mapping covers order.status_changed, not '{type}'");
        }
        var order = Member(root, "order");
        w.WriteStartObject();
        w.WriteString("event_id", $"{provider}:{Text(root, "id")}");
        w.WriteString("event_type", "order_status_changed");
        w.WriteString("timestamp", Text(root, "occurred_at"));
        w.WriteStartObject("context");
        w.WriteString("platform", "server");
        w.WriteEndObject();
        w.WriteStartObject("properties");
        w.WriteString("order_id", Text(order, "id"));
        w.WriteString("store_id", Text(order, "store_id"));
        w.WriteString("status", Text(order, "status"));
        if (order.TryGetProperty("snapshot", out var snapshot))
        {
            w.WritePropertyName("snapshot");
            snapshot.WriteTo(w);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static JsonElement Member(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value : throw new WebhookMappingException($"the payload has no object '{name}'");

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text : throw new WebhookMappingException($"the payload has no text '{name}'");

    private static decimal Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number)
            ? number : throw new WebhookMappingException($"the payload has no number '{name}'");

    /// <summary>A Unix time in seconds as ISO 8601 UTC.</summary>
    private static string Time(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds)
            && seconds is > 0 and < 253_402_300_800
            ? DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : throw new WebhookMappingException($"the payload has no Unix time '{name}'");
}
