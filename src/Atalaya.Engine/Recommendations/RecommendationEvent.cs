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
/// another type costs a few tokens. One instance is reused for every event of a pass, and its texts
/// are decoded into one reused character buffer rather than strings: the model looks products,
/// sessions and orders up by those characters and makes a string only for one it has not seen
/// (at tens of thousands of events a second, a string per text was most of its allocation).
/// </summary>
internal sealed class RecommendationEvent
{
    private char[] _chars = new char[512];
    private int _used;
    private Text _session, _user, _anonymous, _product, _name, _category, _store, _order, _status;
    private readonly List<Text> _items = [];

    /// <summary>A decoded text's place in <see cref="_chars"/>; empty when absent (the model treats "" as absent).</summary>
    private readonly record struct Text(int Start, int Length);

    public RecommendationEventType Type { get; private set; }

    public long TimestampMs { get; private set; }

    public ReadOnlySpan<char> Session => Chars(_session);

    public ReadOnlySpan<char> User => Chars(_user);

    public ReadOnlySpan<char> Anonymous => Chars(_anonymous);

    public ReadOnlySpan<char> Product => Chars(_product);

    public ReadOnlySpan<char> Name => Chars(_name);

    public ReadOnlySpan<char> Category => Chars(_category);

    public ReadOnlySpan<char> Store => Chars(_store);

    public ReadOnlySpan<char> Order => Chars(_order);

    public ReadOnlySpan<char> Status => Chars(_status);

    /// <summary><c>quantity_available</c> of an inventory snapshot; NaN when absent or not a number.</summary>
    public double QuantityAvailable { get; private set; }

    /// <summary>How many item product ids the order names (<see cref="Item"/>).</summary>
    public int ItemCount => _items.Count;

    /// <summary>The product id of the order's item <paramref name="index"/>, in order.</summary>
    public ReadOnlySpan<char> Item(int index) => Chars(_items[index]);

    // The same values as strings (null when absent), for the evaluation and the tests; the model reads the spans.
    public string? SessionId => String(_session);

    public string? UserId => String(_user);

    public string? AnonymousId => String(_anonymous);

    public string? ProductId => String(_product);

    public string? ProductName => String(_name);

    public string? ProductCategory => String(_category);

    public string? StoreId => String(_store);

    public string? OrderId => String(_order);

    public string? StatusText => String(_status);

    public IEnumerable<string> Items => _items.Select(t => new string(Chars(t)));

    private ReadOnlySpan<char> Chars(Text text) => _chars.AsSpan(text.Start, text.Length);

    private string? String(Text text) => text.Length == 0 ? null : new string(Chars(text));

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
                _session = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("user_id"u8))
            {
                _user = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("anonymous_id"u8))
            {
                _anonymous = ReadString(ref reader);
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
    /// reading <paramref name="json"/>: only the noted values are decoded. <paramref name="json"/> may
    /// be the event's stored JSON or any buffer the facts' texts were moved into (<see cref="CopyTexts"/>).
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
        _session = Decode(json, facts.SessionId);
        _user = Decode(json, facts.UserId);
        _anonymous = Decode(json, facts.AnonymousId);
        _product = Decode(json, facts.ProductId);
        _name = Decode(json, facts.ProductName);
        _category = Decode(json, facts.ProductCategory);
        _store = Decode(json, facts.StoreId);
        _order = Decode(json, facts.OrderId);
        _status = Decode(json, facts.Status);
        QuantityAvailable = facts.QuantityAvailable;
        foreach (var item in items)
        {
            if (Decode(json, item.ProductId) is { Length: > 0 } id)
            {
                _items.Add(id);
            }
        }
        return TimestampMs != 0;
    }

    /// <summary>
    /// Copies the texts <see cref="Read(ReadOnlySpan{byte}, in CollectedFacts, ReadOnlySpan{CollectedItem})"/>
    /// reads from <paramref name="json"/> to the end of <paramref name="to"/>, pointing
    /// <paramref name="facts"/> and its items in <paramref name="items"/> at the copies: the writer thread hands the
    /// model those few dozen bytes of an event instead of its whole stored JSON.
    /// </summary>
    public static void CopyTexts(ReadOnlySpan<byte> json, ref CollectedFacts facts, Storage.RentedList<CollectedItem> items, Storage.RentedList<byte> to)
    {
        facts.Type = Copy(json, facts.Type, to);
        facts.SessionId = Copy(json, facts.SessionId, to);
        facts.UserId = Copy(json, facts.UserId, to);
        facts.AnonymousId = Copy(json, facts.AnonymousId, to);
        facts.ProductId = Copy(json, facts.ProductId, to);
        facts.ProductName = Copy(json, facts.ProductName, to);
        facts.ProductCategory = Copy(json, facts.ProductCategory, to);
        facts.StoreId = Copy(json, facts.StoreId, to);
        facts.OrderId = Copy(json, facts.OrderId, to);
        facts.Status = Copy(json, facts.Status, to);
        for (var i = facts.FirstItem; i < facts.FirstItem + facts.ItemCount; i++)
        {
            items[i] = items[i] with { ProductId = Copy(json, items[i].ProductId, to) };
        }
    }

    private static JsonText Copy(ReadOnlySpan<byte> json, JsonText text, Storage.RentedList<byte> to)
    {
        if (!text.IsString)
        {
            return default;
        }
        var start = to.Count;
        to.AddRange(json.Slice(text.Start, text.Length));
        return new JsonText(start, text.Length, text.Escaped);
    }

    /// <summary>Whether a collected event type is one the model reads (the writer thread's filter when the event has facts).</summary>
    public static bool IsRead(in CollectedFacts facts, ReadOnlySpan<byte> json) =>
        facts.Type.IsString && TypeOf(facts.Type.Raw(json)) != RecommendationEventType.Other;

    /// <summary>A noted string decoded as <see cref="ReadString"/> takes it: empty when absent or empty.</summary>
    private Text Decode(ReadOnlySpan<byte> json, JsonText text)
    {
        if (!text.IsString || text.Length == 2)
        {
            return default;
        }
        if (!text.Escaped)
        {
            var raw = text.Raw(json);
            var start = Reserve(raw.Length);
            return new Text(start, Encoding.UTF8.GetChars(raw, _chars.AsSpan(start)));
        }
        var reader = new Utf8JsonReader(json.Slice(text.Start, text.Length));
        reader.Read();
        return Copy(ref reader);
    }

    /// <summary>The current string token, unescaped, into the buffer (a JSON string has no more characters than bytes).</summary>
    private Text Copy(ref Utf8JsonReader reader)
    {
        var start = Reserve(reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length);
        var length = reader.CopyString(_chars.AsSpan(start));
        return new Text(start, length);
    }

    /// <summary>Room for <paramref name="length"/> more characters; returns where they go.</summary>
    private int Reserve(int length)
    {
        if (_used + length > _chars.Length)
        {
            Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _used + length));
        }
        var start = _used;
        _used += length;
        return start;
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
        _session = _user = _anonymous = _product = _name = _category = _store = _order = _status = default;
        _used = 0;
        QuantityAvailable = double.NaN;
        _items.Clear();
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
                _product = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("product_name"u8))
            {
                _name = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("product_category"u8))
            {
                _category = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("store_id"u8))
            {
                _store = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("order_id"u8))
            {
                _order = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("status"u8))
            {
                _status = ReadString(ref reader);
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
                    if (ReadString(ref reader) is { Length: > 0 } id)
                    {
                        _items.Add(id);
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

    private Text ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return default;
        }
        return Copy(ref reader);
    }
}
