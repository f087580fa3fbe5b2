using System.Globalization;
using System.Text.Json;

namespace Atalaya.Engine.ClickHouse;

/// <summary>One row of <c>events</c>, read from a stored event (docs/collector.md, "What is stored").</summary>
internal sealed record EventRow(
    string EventId, string EventType, DateTimeOffset Timestamp, DateTimeOffset? ReceivedAt, string SourceSystem, long CatalogVersion,
    string Country, string Hub, string Zone, string Category, string StoreId, string UserId, string AnonymousId, string SessionId,
    string OrderId, long Amount, string Currency, double FxRateToReporting, ReadOnlyMemory<byte> Payload)
{
    /// <summary>The event's position among those received at the same moment (the cluster's <c>ArrivalLine</c>), 0 when not known.</summary>
    public long Arrival { get; init; }
}

/// <summary>
/// Maps a stored event (the UTF-8 JSON the embedded log keeps) to an <see cref="EventRow"/>:
/// the ids and the type at the top level; country, hub, zone, category in <c>context</c> (the
/// collector copied the store's there); store_id and order_id in <c>properties</c>. The amount
/// is the event's money: <c>properties.total</c> (orders), else <c>properties.amount</c>
/// (payments, refunds), else <c>properties.snapshot.total</c> (order status changes), in minor
/// units of its currency (the top-level <c>currency</c> the collector wrote, else the one next to
/// the amount): 0 decimals for CLP, JPY and the like, 3 for BHD, KWD…, else 2, rounded half away
/// from zero. An event that cannot be a row (not JSON, no event_id, no time ClickHouse can hold)
/// gives a reason instead, for the caller's dead-letter queue.
/// </summary>
internal static class StoredEventMapper
{
    // DateTime in ClickHouse is seconds since 1970 in a UInt32.
    private static readonly DateTimeOffset Earliest = DateTimeOffset.UnixEpoch;
    private static readonly DateTimeOffset Latest = DateTimeOffset.FromUnixTimeSeconds(uint.MaxValue);

    private static readonly HashSet<string> NoDecimals = new(StringComparer.Ordinal)
    {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    };

    private static readonly HashSet<string> ThreeDecimals = new(StringComparer.Ordinal) { "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND" };

    public static EventRow? TryMap(ReadOnlyMemory<byte> stored, out string? reason)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(stored);
        }
        catch (JsonException e)
        {
            reason = $"not JSON: {e.Message}";
            return null;
        }
        using (document)
        {
            var e = document.RootElement;
            if (e.ValueKind != JsonValueKind.Object)
            {
                reason = "not a JSON object";
                return null;
            }
            var eventId = Text(e, "event_id");
            if (eventId.Length == 0)
            {
                reason = "no event_id";
                return null;
            }
            var eventType = Text(e, "event_type");
            if (eventType.Length == 0)
            {
                reason = $"event {eventId} has no event_type";
                return null;
            }
            if (!e.TryGetProperty("timestamp", out var time) || time.ValueKind != JsonValueKind.String || !time.TryGetDateTimeOffset(out var timestamp))
            {
                reason = $"event {eventId} has no timestamp";
                return null;
            }
            if (timestamp < Earliest || timestamp > Latest)
            {
                reason = $"event {eventId}'s timestamp {timestamp:O} is outside 1970–2106, which ClickHouse's DateTime cannot hold";
                return null;
            }
            DateTimeOffset? receivedAt = e.TryGetProperty("received_at", out var received) && received.ValueKind == JsonValueKind.String
                && received.TryGetDateTimeOffset(out var at) && at >= Earliest && at <= Latest ? at : null;

            var context = Child(e, "context");
            var properties = Child(e, "properties");
            var snapshot = Child(properties, "snapshot");
            var (money, moneyCurrency) = Money(properties, "total") ?? Money(properties, "amount") ?? Money(snapshot, "total") ?? (0m, "");
            var currency = Text(e, "currency") is { Length: > 0 } top ? top : moneyCurrency;
            long amount;
            try
            {
                amount = decimal.ToInt64(Math.Round(money * Scale(currency), MidpointRounding.AwayFromZero));
            }
            catch (OverflowException)
            {
                reason = $"event {eventId}'s amount {money} does not fit 64-bit minor units";
                return null;
            }

            reason = null;
            return new EventRow(eventId, eventType, timestamp, receivedAt, Text(e, "source_system"),
                e.TryGetProperty("catalog_version", out var version) && version.TryGetInt64(out var v) && v is >= 0 and <= uint.MaxValue ? v : 0,
                Text(context, "country"), Text(context, "hub"), Text(context, "zone"), Text(context, "category"),
                Text(properties, "store_id"), Text(e, "user_id"), Text(e, "anonymous_id"), Text(e, "session_id"), Text(properties, "order_id"),
                amount, currency,
                e.TryGetProperty("fx_rate_to_reporting", out var fx) && fx.ValueKind == JsonValueKind.Number ? fx.GetDouble() : 0,
                stored);
        }
    }

    /// <summary>The row in JSONEachRow; empty strings and zeros are left out (ClickHouse fills the column's default).</summary>
    public static void Write(EventRow row, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("event_id"u8, row.EventId);
        writer.WriteString("event_type"u8, row.EventType);
        WriteTime(writer, "ts"u8, row.Timestamp);
        writer.WriteNumber("ts_ms"u8, row.Timestamp.Millisecond);
        if (row.ReceivedAt is { } receivedAt)
        {
            WriteTime(writer, "received_at"u8, receivedAt);
            writer.WriteNumber("received_ms"u8, receivedAt.Millisecond);
        }
        if (row.Arrival != 0)
        {
            writer.WriteNumber("arrival"u8, row.Arrival);
        }
        Put(writer, "source_system"u8, row.SourceSystem);
        if (row.CatalogVersion != 0)
        {
            writer.WriteNumber("catalog_version"u8, row.CatalogVersion);
        }
        Put(writer, "country"u8, row.Country);
        Put(writer, "hub"u8, row.Hub);
        Put(writer, "zone"u8, row.Zone);
        Put(writer, "category"u8, row.Category);
        Put(writer, "store_id"u8, row.StoreId);
        Put(writer, "user_id"u8, row.UserId);
        Put(writer, "anonymous_id"u8, row.AnonymousId);
        Put(writer, "session_id"u8, row.SessionId);
        Put(writer, "order_id"u8, row.OrderId);
        if (row.Amount != 0)
        {
            writer.WriteNumber("amount"u8, row.Amount);
        }
        Put(writer, "currency"u8, row.Currency);
        if (row.FxRateToReporting != 0)
        {
            writer.WriteNumber("fx_rate_to_reporting"u8, row.FxRateToReporting);
        }
        writer.WriteString("payload"u8, row.Payload.Span);
        writer.WriteEndObject();
    }

    public static readonly IReadOnlyList<string> Columns =
    [
        "event_id", "event_type", "ts", "ts_ms", "received_at", "received_ms", "arrival", "source_system", "catalog_version", "country", "hub", "zone", "category",
        "store_id", "user_id", "anonymous_id", "session_id", "order_id", "amount", "currency", "fx_rate_to_reporting", "payload",
    ];

    /// <summary>ClickHouse's DateTime text, in UTC (the columns are DateTime('UTC')).</summary>
    internal static void WriteTime(Utf8JsonWriter writer, ReadOnlySpan<byte> name, DateTimeOffset time)
    {
        Span<char> text = stackalloc char[19];
        time.UtcDateTime.TryFormat(text, out _, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        writer.WriteString(name, text);
    }

    private static decimal Scale(string currency) =>
        NoDecimals.Contains(currency) ? 1m : ThreeDecimals.Contains(currency) ? 1000m : 100m;

    private static (decimal Value, string Currency)? Money(JsonElement owner, string name) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            && value.TryGetDecimal(out var money)
            ? (money, Text(owner, "currency"))
            : null;

    private static void Put(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string value)
    {
        if (value.Length > 0)
        {
            writer.WriteString(name, value);
        }
    }

    private static JsonElement Child(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var child) && child.ValueKind == JsonValueKind.Object ? child : default;

    private static string Text(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : "";
}
