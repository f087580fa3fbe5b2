using System.Text;
using System.Text.Json;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Recommendations;

/// <summary>The stored events the recommendation model learns from; every other type is skipped after its <c>event_type</c>.</summary>
internal enum RecommendationEventType
{
    Other,
    ProductViewed,
    AddToCart,
    PurchaseCompleted,
    OrderStatusChanged,

    /// <summary><c>inventory_snapshot</c> {store_id, product_id, quantity_available}; read by name, catalogued or custom.</summary>
    InventorySnapshot,
}

/// <summary>
/// What the model needs from one stored (normalized) event, read in one forward pass with
/// <see cref="Utf8JsonReader"/>. The stored form names <c>event_type</c> second, so an event of
/// another type costs a few tokens. One instance is reused for every event of a pass.
/// </summary>
internal sealed class RecommendationEvent
{
    public RecommendationEventType Type { get; private set; }

    public long TimestampMs { get; private set; }

    public string? SessionId { get; private set; }

    public string? UserId { get; private set; }

    public string? AnonymousId { get; private set; }

    public string? ProductId { get; private set; }

    public string? ProductName { get; private set; }

    public string? ProductCategory { get; private set; }

    public string? StoreId { get; private set; }

    public string? OrderId { get; private set; }

    public string? Status { get; private set; }

    /// <summary><c>quantity_available</c> of an inventory snapshot; NaN when absent or not a number.</summary>
    public double QuantityAvailable { get; private set; }

    /// <summary>The product ids of an order's items, in order.</summary>
    public List<string> Items { get; } = [];

    /// <summary>Reads one event; false (and <see cref="Type"/> Other) for a type the model does not use.</summary>
    public bool Read(ReadOnlySpan<byte> json)
    {
        Clear();
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        var typeSeen = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event_type"u8))
            {
                reader.Read();
                Type = TypeOf(ref reader);
                typeSeen = true;
                if (Type == RecommendationEventType.Other)
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                reader.Read();
                TimestampMs = reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var at) ? at.ToUnixTimeMilliseconds() : 0;
            }
            else if (reader.ValueTextEquals("session_id"u8))
            {
                SessionId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("user_id"u8))
            {
                UserId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("anonymous_id"u8))
            {
                AnonymousId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("properties"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadProperties(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return typeSeen && Type != RecommendationEventType.Other && TimestampMs != 0;
    }

    /// <summary>
    /// The same as <see cref="Read(ReadOnlySpan{byte})"/> from the facts the collector noted while
    /// writing the event (<see cref="CollectedFacts.CompleteForRecommendations"/> set), without
    /// reading <paramref name="json"/>: only the noted values are decoded.
    /// </summary>
    public bool Read(ReadOnlySpan<byte> json, in CollectedFacts facts, ReadOnlySpan<CollectedItem> items)
    {
        Clear();
        Type = facts.Type.IsString ? TypeOf(facts.Type.Raw(json)) : RecommendationEventType.Other;
        if (Type == RecommendationEventType.Other)
        {
            return false;
        }
        TimestampMs = facts.TimestampMs;
        SessionId = Text(json, facts.SessionId);
        UserId = Text(json, facts.UserId);
        AnonymousId = Text(json, facts.AnonymousId);
        ProductId = Text(json, facts.ProductId);
        ProductName = Text(json, facts.ProductName);
        ProductCategory = Text(json, facts.ProductCategory);
        StoreId = Text(json, facts.StoreId);
        OrderId = Text(json, facts.OrderId);
        Status = Text(json, facts.Status);
        QuantityAvailable = facts.QuantityAvailable;
        foreach (var item in items)
        {
            if (Text(json, item.ProductId) is { } id)
            {
                Items.Add(id);
            }
        }
        return TimestampMs != 0;
    }

    /// <summary>Whether a collected event type is one the model reads (the writer thread's filter when the event has facts).</summary>
    public static bool IsRead(in CollectedFacts facts, ReadOnlySpan<byte> json) =>
        facts.Type.IsString && TypeOf(facts.Type.Raw(json)) != RecommendationEventType.Other;

    /// <summary>A noted string as <see cref="ReadString"/> takes it: null when absent or empty.</summary>
    private static string? Text(ReadOnlySpan<byte> json, JsonText text)
    {
        if (!text.IsString || text.Length == 2)
        {
            return null;
        }
        if (!text.Escaped)
        {
            return Encoding.UTF8.GetString(text.Raw(json));
        }
        var reader = new Utf8JsonReader(json.Slice(text.Start, text.Length));
        reader.Read();
        return reader.GetString() is { Length: > 0 } decoded ? decoded : null;
    }

    /// <summary>Whether the event is of a type the model reads: a look at its <c>event_type</c> only (the writer thread's filter).</summary>
    public static bool IsRead(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isType = reader.ValueTextEquals("event_type"u8);
            reader.Read();
            if (isType)
            {
                return TypeOf(ref reader) != RecommendationEventType.Other;
            }
            reader.Skip();
        }
        return false;
    }

    private void Clear()
    {
        Type = RecommendationEventType.Other;
        TimestampMs = 0;
        SessionId = UserId = AnonymousId = ProductId = ProductName = ProductCategory = StoreId = OrderId = Status = null;
        QuantityAvailable = double.NaN;
        Items.Clear();
    }

    private static RecommendationEventType TypeOf(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? RecommendationEventType.Other
        : reader.ValueTextEquals("product_viewed"u8) ? RecommendationEventType.ProductViewed
        : reader.ValueTextEquals("add_to_cart"u8) ? RecommendationEventType.AddToCart
        : reader.ValueTextEquals("purchase_completed"u8) ? RecommendationEventType.PurchaseCompleted
        : reader.ValueTextEquals("order_status_changed"u8) ? RecommendationEventType.OrderStatusChanged
        : reader.ValueTextEquals("inventory_snapshot"u8) ? RecommendationEventType.InventorySnapshot
        : RecommendationEventType.Other;

    /// <summary>The type of an unescaped <c>event_type</c> (the single pass writes no other).</summary>
    private static RecommendationEventType TypeOf(ReadOnlySpan<byte> type) =>
        type.SequenceEqual("product_viewed"u8) ? RecommendationEventType.ProductViewed
        : type.SequenceEqual("add_to_cart"u8) ? RecommendationEventType.AddToCart
        : type.SequenceEqual("purchase_completed"u8) ? RecommendationEventType.PurchaseCompleted
        : type.SequenceEqual("order_status_changed"u8) ? RecommendationEventType.OrderStatusChanged
        : type.SequenceEqual("inventory_snapshot"u8) ? RecommendationEventType.InventorySnapshot
        : RecommendationEventType.Other;

    private void ReadProperties(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("product_id"u8))
            {
                ProductId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("product_name"u8))
            {
                ProductName = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("product_category"u8))
            {
                ProductCategory = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("store_id"u8))
            {
                StoreId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("order_id"u8))
            {
                OrderId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("status"u8))
            {
                Status = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("quantity_available"u8))
            {
                reader.Read();
                QuantityAvailable = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var q) ? q : double.NaN;
            }
            else if (reader.ValueTextEquals("items"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    ReadItems(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadItems(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("product_id"u8))
                {
                    if (ReadString(ref reader) is { } id)
                    {
                        Items.Add(id);
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }
        var text = reader.GetString();
        return string.IsNullOrEmpty(text) ? null : text;
    }
}
