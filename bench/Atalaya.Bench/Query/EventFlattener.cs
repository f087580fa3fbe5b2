using System.Globalization;
using System.Text.Json;

namespace Atalaya.Bench.Query;

/// <summary>
/// Turns a native event (docs/collector.md (the native event)) into one flat row of the ClickHouse table
/// (<see cref="ClickHouseTable"/>): the user key is <c>user_id</c>, else <c>anonymous_id</c>; country,
/// hub, zone and category are the store's when the event names a <c>store_id</c> whose
/// <c>store_created</c> event came earlier in the stream (the generator writes in time order), else
/// the context's; <c>fx</c> is the rate the event carries (<c>fx_rate_to_reporting</c> at the top
/// level, in the properties or in the snapshot), 0 when it carries none; amounts stay in the event's
/// currency, so SQL converts with <c>amount × fx</c>, the rate frozen with the event. Empty strings,
/// zeros and empty arrays are left out of the row: ClickHouse fills a missing field with the
/// column's default, and about half of the bytes it would parse are gone.
/// </summary>
public sealed class EventFlattener
{
    private readonly Dictionary<string, (string Country, string Hub, string Zone, string Category)> _stores = new(StringComparer.Ordinal);

    public void Write(ReadOnlyMemory<byte> line, Utf8JsonWriter row)
    {
        using var document = JsonDocument.Parse(line);
        var e = document.RootElement;
        var properties = e.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var context = e.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var snapshot = Child(properties, "snapshot");
        var type = Text(e, "event_type");
        var storeId = Text(properties, "store_id");

        if (type == "store_created" && storeId.Length > 0)
        {
            _stores[storeId] = (Text(properties, "country"), Text(properties, "hub"), Text(properties, "zone"), Text(properties, "category"));
        }
        var (country, hub, zone, category) = storeId.Length > 0 && _stores.TryGetValue(storeId, out var store)
            ? store
            : (Text(context, "country"), Text(context, "hub"), Text(context, "zone"), Text(context, "category"));

        row.WriteStartObject();
        row.WriteString("event_id", Text(e, "event_id"));
        row.WriteString("event_type", type);
        row.WriteString("ts", e.GetProperty("timestamp").GetDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        var user = Text(e, "user_id");
        Put(row, "user_key", user.Length > 0 ? user : Text(e, "anonymous_id"));
        Put(row, "session_id", Text(e, "session_id"));
        Put(row, "country", country);
        Put(row, "hub", hub);
        Put(row, "zone", zone);
        Put(row, "category", category);
        Put(row, "store_id", storeId);
        Put(row, "source", Text(context, "source"));
        Put(row, "platform", Text(context, "platform"));
        Put(row, "app_id", Text(context, "app_id"));
        Put(row, "order_id", Text(properties, "order_id"));
        Put(row, "status", Text(properties, "status"));
        var currency = Text(properties, "currency");
        Put(row, "currency", currency.Length > 0 ? currency : Text(snapshot, "currency"));
        var fx = Number(e, "fx_rate_to_reporting");
        fx = fx != 0 ? fx : Number(properties, "fx_rate_to_reporting");
        Put(row, "fx", fx != 0 ? fx : Number(snapshot, "fx_rate_to_reporting"));
        Put(row, "total", Number(properties, "total"));
        Put(row, "subtotal", Number(properties, "subtotal"));
        Put(row, "delivery_fee", Number(properties, "delivery_fee"));
        Put(row, "amount", Number(properties, "amount"));
        Put(row, "snapshot_total", Number(snapshot, "total"));
        Put(row, "commission", Number(snapshot, "commission_amount"));
        Put(row, "product_id", Text(properties, "product_id"));
        Put(row, "product_name", Text(properties, "product_name"));
        var price = Number(properties, "price");
        Put(row, "price", price != 0 ? price : Number(properties, "product_price"));
        Put(row, "quantity", (long)Number(properties, "quantity"));
        WriteItems(Child(properties, "items"), row);
        row.WriteEndObject();
    }

    private static void WriteItems(JsonElement items, Utf8JsonWriter row)
    {
        var list = items.ValueKind == JsonValueKind.Array ? items.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object).ToList() : [];
        if (list.Count == 0)
        {
            return;
        }
        row.WriteStartArray("item_product_id");
        list.ForEach(i => row.WriteStringValue(Text(i, "product_id")));
        row.WriteEndArray();
        row.WriteStartArray("item_quantity");
        list.ForEach(i => row.WriteNumberValue((long)Number(i, "quantity")));
        row.WriteEndArray();
        row.WriteStartArray("item_price");
        list.ForEach(i => row.WriteNumberValue(Number(i, "price")));
        row.WriteEndArray();
    }

    private static void Put(Utf8JsonWriter row, string name, string value)
    {
        if (value.Length > 0)
        {
            row.WriteString(name, value);
        }
    }

    private static void Put(Utf8JsonWriter row, string name, double value)
    {
        if (value != 0)
        {
            row.WriteNumber(name, value);
        }
    }

    private static JsonElement Child(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var child) ? child : default;

    private static string Text(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : "";

    private static double Number(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : 0;
}
