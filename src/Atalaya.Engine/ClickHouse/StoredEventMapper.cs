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

    /// <summary>
    /// One forward pass of a reader over the stored JSON, taking the fields a row needs and
    /// skipping the rest: the writer maps every event of the cluster, and building a document per
    /// event cost it about twice as much (its tree and the lookups by name).
    /// </summary>
    public static EventRow? TryMap(ReadOnlyMemory<byte> stored, out string? reason)
    {
        var f = new Fields();
        try
        {
            var reader = new Utf8JsonReader(stored.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                // Valid JSON that is no object, or not JSON at all: reading on tells which.
                while (reader.Read())
                {
                }
                reason = "not a JSON object";
                return null;
            }
            ReadEvent(ref reader, ref f);
            while (reader.Read())
            {
                // Anything after the object is not JSON (the reader throws).
            }
        }
        catch (JsonException e)
        {
            reason = $"not JSON: {e.Message}";
            return null;
        }
        var eventId = f.EventId ?? "";
        if (eventId.Length == 0)
        {
            reason = "no event_id";
            return null;
        }
        if ((f.EventType ?? "").Length == 0)
        {
            reason = $"event {eventId} has no event_type";
            return null;
        }
        if (f.Timestamp is not { } timestamp)
        {
            reason = $"event {eventId} has no timestamp";
            return null;
        }
        if (timestamp < Earliest || timestamp > Latest)
        {
            reason = $"event {eventId}'s timestamp {timestamp:O} is outside 1970–2106, which ClickHouse's DateTime cannot hold";
            return null;
        }
        DateTimeOffset? receivedAt = f.ReceivedAt is { } at && at >= Earliest && at <= Latest ? at : null;
        var (money, moneyCurrency) = f.Total is { } total ? (total, f.PropertiesCurrency ?? "")
            : f.Amount is { } amountValue ? (amountValue, f.PropertiesCurrency ?? "")
            : f.SnapshotTotal is { } snapshotTotal ? (snapshotTotal, f.SnapshotCurrency ?? "")
            : (0m, "");
        var currency = f.Currency is { Length: > 0 } top ? top : moneyCurrency;
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
        return new EventRow(eventId, f.EventType!, timestamp, receivedAt, f.SourceSystem ?? "", f.CatalogVersion,
            f.Country ?? "", f.Hub ?? "", f.Zone ?? "", f.Category ?? "",
            f.StoreId ?? "", f.UserId ?? "", f.AnonymousId ?? "", f.SessionId ?? "", f.OrderId ?? "",
            amount, currency, f.FxRateToReporting, stored);
    }

    /// <summary>What <see cref="TryMap"/> takes from an event; null where absent or of another kind than the row needs.</summary>
    private struct Fields
    {
        public string? EventId, EventType, SourceSystem, UserId, AnonymousId, SessionId, Currency;
        public DateTimeOffset? Timestamp, ReceivedAt;
        public long CatalogVersion;
        public double FxRateToReporting;
        public string? Country, Hub, Zone, Category;
        public string? StoreId, OrderId, PropertiesCurrency, SnapshotCurrency;
        public decimal? Total, Amount, SnapshotTotal;
    }

    private static void ReadEvent(ref Utf8JsonReader reader, ref Fields f)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event_id"u8))
            {
                f.EventId = Text(ref reader);
            }
            else if (reader.ValueTextEquals("event_type"u8))
            {
                f.EventType = Text(ref reader);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                f.Timestamp = Time(ref reader);
            }
            else if (reader.ValueTextEquals("received_at"u8))
            {
                f.ReceivedAt = Time(ref reader);
            }
            else if (reader.ValueTextEquals("source_system"u8))
            {
                f.SourceSystem = Text(ref reader);
            }
            else if (reader.ValueTextEquals("user_id"u8))
            {
                f.UserId = Text(ref reader);
            }
            else if (reader.ValueTextEquals("anonymous_id"u8))
            {
                f.AnonymousId = Text(ref reader);
            }
            else if (reader.ValueTextEquals("session_id"u8))
            {
                f.SessionId = Text(ref reader);
            }
            else if (reader.ValueTextEquals("currency"u8))
            {
                f.Currency = Text(ref reader);
            }
            else if (reader.ValueTextEquals("catalog_version"u8))
            {
                reader.Read();
                f.CatalogVersion = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var v) && v is >= 0 and <= uint.MaxValue ? v : 0;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("fx_rate_to_reporting"u8))
            {
                reader.Read();
                f.FxRateToReporting = reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : 0;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("context"u8))
            {
                reader.Read();
                ReadContext(ref reader, ref f);
            }
            else if (reader.ValueTextEquals("properties"u8))
            {
                reader.Read();
                ReadProperties(ref reader, ref f);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadContext(ref Utf8JsonReader reader, ref Fields f)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("country"u8))
            {
                f.Country = Text(ref reader);
            }
            else if (reader.ValueTextEquals("hub"u8))
            {
                f.Hub = Text(ref reader);
            }
            else if (reader.ValueTextEquals("zone"u8))
            {
                f.Zone = Text(ref reader);
            }
            else if (reader.ValueTextEquals("category"u8))
            {
                f.Category = Text(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadProperties(ref Utf8JsonReader reader, ref Fields f)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("store_id"u8))
            {
                f.StoreId = Text(ref reader);
            }
            else if (reader.ValueTextEquals("order_id"u8))
            {
                f.OrderId = Text(ref reader);
            }
            else if (reader.ValueTextEquals("currency"u8))
            {
                f.PropertiesCurrency = Text(ref reader);
            }
            else if (reader.ValueTextEquals("total"u8))
            {
                f.Total = Money(ref reader);
            }
            else if (reader.ValueTextEquals("amount"u8))
            {
                f.Amount = Money(ref reader);
            }
            else if (reader.ValueTextEquals("snapshot"u8))
            {
                reader.Read();
                ReadSnapshot(ref reader, ref f);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadSnapshot(ref Utf8JsonReader reader, ref Fields f)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("total"u8))
            {
                f.SnapshotTotal = Money(ref reader);
            }
            else if (reader.ValueTextEquals("currency"u8))
            {
                f.SnapshotCurrency = Text(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    /// <summary>The property's value when a string (unescaped), else null; the reader ends on the value.</summary>
    private static string? Text(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }
        reader.Skip();
        return null;
    }

    private static DateTimeOffset? Time(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.TryGetDateTimeOffset(out var time) ? time : null;
        }
        reader.Skip();
        return null;
    }

    private static decimal? Money(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.TryGetDecimal(out var money) ? money : null;
        }
        reader.Skip();
        return null;
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

    internal static decimal Scale(string currency) =>
        NoDecimals.Contains(currency) ? 1m : ThreeDecimals.Contains(currency) ? 1000m : 100m;

    private static void Put(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string value)
    {
        if (value.Length > 0)
        {
            writer.WriteString(name, value);
        }
    }
}
