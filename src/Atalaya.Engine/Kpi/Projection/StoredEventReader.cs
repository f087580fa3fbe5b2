using System.Text;
using System.Text.Json;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Reads the facts KPIs need from one stored (normalized) event in a single forward pass with
/// <see cref="Utf8JsonReader"/>, skipping everything else (user agent, referrer, traits…).
/// Text values are interned into the projection's pools without allocating for known values.
/// The stored form is the hub's own output, so the reader trusts its shape; unexpected types are
/// ignored rather than trusted.
///
/// It is the definition of an event's facts. On the commit path the collector has usually noted
/// them already (<see cref="CollectedFacts"/>): then <see cref="Read(ReadOnlySpan{byte}, in CollectedFacts, ReadOnlySpan{CollectedItem}, string, EventFacts)"/>
/// only interns their text, in the order this reader meets it, so that the pools come out the same.
/// </summary>
internal sealed class StoredEventReader(ProjectionPools pools)
{
    private readonly char[] _chars = new char[1024];
    private readonly Utf8IdCache _types = new();
    private readonly Utf8IdCache _dimensions = new();

    public void Read(ReadOnlySpan<byte> json, EventFacts facts)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read(); // {
        Read(ref reader, facts);
    }

    /// <summary>
    /// Reads the event object <paramref name="reader"/> is on (its start) and leaves the reader on
    /// its end: a block's events are read in one pass over the block, not found and then read.
    /// </summary>
    public void Read(ref Utf8JsonReader reader, EventFacts facts)
    {
        facts.Clear();
        int userId = 0, anonymousId = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event_type"u8))
            {
                reader.Read();
                facts.Type = Intern(ref reader, pools.Types);
                facts.Kind = pools.KindOf(facts.Type);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                reader.Read();
                facts.TimestampMs = reader.GetDateTimeOffset().ToUnixTimeMilliseconds();
            }
            else if (reader.ValueTextEquals("session_id"u8))
            {
                reader.Read();
                facts.Session = Intern(ref reader, pools.Sessions);
            }
            else if (reader.ValueTextEquals("user_id"u8))
            {
                reader.Read();
                userId = Intern(ref reader, pools.Users);
            }
            else if (reader.ValueTextEquals("anonymous_id"u8))
            {
                reader.Read();
                anonymousId = Intern(ref reader, pools.Users);
            }
            else if (reader.ValueTextEquals("source_system"u8))
            {
                reader.Read();
                facts.SourceSystem = Intern(ref reader, pools.Dimension);
            }
            else if (reader.ValueTextEquals("custom"u8))
            {
                reader.Read();
                facts.Custom = reader.TokenType == JsonTokenType.True;
            }
            else if (reader.ValueTextEquals("fx_rate_to_reporting"u8))
            {
                reader.Read();
                facts.Fx = reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : double.NaN;
            }
            else if (reader.ValueTextEquals("context"u8))
            {
                reader.Read();
                ReadContext(ref reader, facts);
            }
            else if (reader.ValueTextEquals("properties"u8))
            {
                reader.Read();
                ReadProperties(ref reader, facts);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        facts.User = userId != 0 ? userId : anonymousId;
        facts.NoFx = double.IsNaN(facts.Fx);
    }

    /// <summary>The same facts from what the collector noted while writing <paramref name="json"/>, without reading it.</summary>
    public void Read(ReadOnlySpan<byte> json, in CollectedFacts c, ReadOnlySpan<CollectedItem> items, string sourceSystem, EventFacts facts)
    {
        facts.Clear();
        facts.Type = Intern(json, c.Type, pools.Types, _types);
        facts.Kind = pools.KindOf(facts.Type);
        facts.TimestampMs = c.TimestampMs;
        facts.Session = Intern(json, c.SessionId, pools.Sessions);
        var userId = Intern(json, c.UserId, pools.Users);
        var anonymousId = Intern(json, c.AnonymousId, pools.Users);
        facts.User = userId != 0 ? userId : anonymousId;
        facts.Custom = c.Custom;
        facts.Fx = c.Fx;
        facts.NoFx = double.IsNaN(c.Fx);
        // The batch's source_system is stored after the ids and before the context: interned here, in that order.
        facts.SourceSystem = sourceSystem.Length > 0 ? pools.Dimension.Intern(sourceSystem) : 0;

        // The client's context members in the order they were sent, then those copied from the store.
        Span<(int Start, int Slot)> sent = stackalloc (int, int)[7];
        var count = 0;
        ReadOnlySpan<JsonText> dimensions = [c.Country, c.Hub, c.Zone, c.Category, c.Source, c.Platform, c.AppId];
        for (var slot = 0; slot < dimensions.Length; slot++)
        {
            if (dimensions[slot].IsString)
            {
                var at = count++;
                for (; at > 0 && sent[at - 1].Start > dimensions[slot].Start; at--)
                {
                    sent[at] = sent[at - 1];
                }
                sent[at] = (dimensions[slot].Start, slot);
            }
        }
        foreach (var (_, slot) in sent[..count])
        {
            DimensionSlot(facts, slot) = Intern(json, dimensions[slot], pools.Dimension, _dimensions);
        }
        if (c.DerivedFrom is { } store)
        {
            ReadOnlySpan<(DerivedDimensions Flag, string? Value, int Slot)> derived =
                [(DerivedDimensions.Country, store.Country, 0), (DerivedDimensions.Hub, store.Hub, 1),
                 (DerivedDimensions.Zone, store.Zone, 2), (DerivedDimensions.Category, store.Category, 3)];
            foreach (var (flag, value, slot) in derived)
            {
                if ((c.Derived & flag) != 0 && value is { Length: > 0 })
                {
                    DimensionSlot(facts, slot) = pools.Dimension.Intern(value);
                }
            }
        }

        facts.Store = Intern(json, c.StoreId, pools.Stores);
        facts.Order = Intern(json, c.OrderId, pools.Orders);
        facts.Total = c.Total;
        facts.Amount = c.Amount;
        facts.HasSnapshot = c.HasSnapshot;
        facts.SnapshotTotal = c.SnapshotTotal;
        facts.Commission = c.Commission;
        facts.Refunded = c.Refunded;
        facts.Reversed = c.Reversed;
        facts.Status = StatusOf(json, c.Status);
        // The last dimension text of a lead in the stored order: its properties come after the context.
        if (facts.Kind == EventKind.LeadCreated)
        {
            facts.Priority = Intern(json, c.Priority, pools.Dimension, _dimensions);
        }
        if (facts.Kind == EventKind.ProductViewed && c.ProductName.IsString)
        {
            if (c.ProductName.Escaped)
            {
                var reader = Reader(json, c.ProductName);
                facts.ProductName = StringOf(ref reader);
            }
            else
            {
                facts.ProductName = Encoding.UTF8.GetString(c.ProductName.Raw(json));
            }
        }
        // Products: the property and the items' ids, interned in the order they are stored.
        var productPending = c.ProductId.IsString;
        foreach (var item in items)
        {
            if (productPending && item.ProductId.IsString && item.ProductId.Start > c.ProductId.Start)
            {
                facts.Product = Intern(json, c.ProductId, pools.Products);
                productPending = false;
            }
            facts.Items.Add((Intern(json, item.ProductId, pools.Products), item.Quantity, item.Price));
        }
        if (productPending)
        {
            facts.Product = Intern(json, c.ProductId, pools.Products);
        }
    }

    private static ref int DimensionSlot(EventFacts facts, int slot)
    {
        switch (slot)
        {
            case 0: return ref facts.Country;
            case 1: return ref facts.Hub;
            case 2: return ref facts.Zone;
            case 3: return ref facts.Category;
            case 4: return ref facts.Source;
            case 5: return ref facts.Platform;
            default: return ref facts.AppId;
        }
    }

    private static FinalStatus StatusOf(ReadOnlySpan<byte> json, JsonText status)
    {
        if (!status.IsString)
        {
            return FinalStatus.None;
        }
        var reader = Reader(json, status);
        return StatusOf(ref reader);
    }

    /// <summary>The final status a string value names (see <see cref="StringOf"/> for undecodable escapes).</summary>
    private static FinalStatus StatusOf(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.ValueTextEquals("ENTREGADO"u8) ? FinalStatus.Delivered
                : reader.ValueTextEquals("REEMBOLSADO"u8) ? FinalStatus.Refunded
                : reader.ValueTextEquals("CANCELADO"u8) ? FinalStatus.Cancelled
                : FinalStatus.None;
        }
        catch (InvalidOperationException)
        {
            return FinalStatus.None;
        }
    }

    /// <summary>
    /// A string value's text. The collector stores ids and names as sent without decoding them, so
    /// an escaped lone surrogate (<c>\ud800</c>) can be stored; it has no UTF-16 text, and its
    /// escaped spelling stands for it rather than stopping the projection at that event.
    /// </summary>
    private static string StringOf(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return Encoding.UTF8.GetString(reader.ValueSpan);
        }
    }

    /// <summary>A reader on the string token <paramref name="text"/>.</summary>
    private static Utf8JsonReader Reader(ReadOnlySpan<byte> json, JsonText text)
    {
        var reader = new Utf8JsonReader(json.Slice(text.Start, text.Length));
        reader.Read();
        return reader;
    }

    private void ReadContext(ref Utf8JsonReader reader, EventFacts facts)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ref var slot = ref ContextSlot(ref reader, facts);
            reader.Read();
            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot))
            {
                slot = Intern(ref reader, pools.Dimension);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static ref int ContextSlot(ref Utf8JsonReader reader, EventFacts facts)
    {
        if (reader.ValueTextEquals("country"u8))
        {
            return ref facts.Country;
        }
        if (reader.ValueTextEquals("hub"u8))
        {
            return ref facts.Hub;
        }
        if (reader.ValueTextEquals("zone"u8))
        {
            return ref facts.Zone;
        }
        if (reader.ValueTextEquals("category"u8))
        {
            return ref facts.Category;
        }
        if (reader.ValueTextEquals("source"u8))
        {
            return ref facts.Source;
        }
        if (reader.ValueTextEquals("platform"u8))
        {
            return ref facts.Platform;
        }
        if (reader.ValueTextEquals("app_id"u8))
        {
            return ref facts.AppId;
        }
        return ref System.Runtime.CompilerServices.Unsafe.NullRef<int>();
    }

    private void ReadProperties(ref Utf8JsonReader reader, EventFacts facts)
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
                reader.Read();
                facts.Store = Intern(ref reader, pools.Stores);
            }
            else if (reader.ValueTextEquals("order_id"u8))
            {
                reader.Read();
                facts.Order = Intern(ref reader, pools.Orders);
            }
            else if (reader.ValueTextEquals("total"u8))
            {
                reader.Read();
                facts.Total = Number(ref reader);
            }
            else if (reader.ValueTextEquals("amount"u8))
            {
                reader.Read();
                facts.Amount = Number(ref reader);
            }
            else if (reader.ValueTextEquals("product_id"u8))
            {
                reader.Read();
                facts.Product = Intern(ref reader, pools.Products);
            }
            else if (reader.ValueTextEquals("quantity_available"u8) && facts.Kind == EventKind.InventorySnapshot)
            {
                reader.Read();
                facts.Quantity = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var q) ? q : 0;
            }
            else if (reader.ValueTextEquals("priority"u8) && facts.Kind == EventKind.LeadCreated)
            {
                reader.Read();
                facts.Priority = Intern(ref reader, pools.Dimension);
            }
            else if (reader.ValueTextEquals("product_name"u8) && facts.Kind == EventKind.ProductViewed)
            {
                reader.Read();
                facts.ProductName = reader.TokenType == JsonTokenType.String ? StringOf(ref reader) : null;
            }
            else if (reader.ValueTextEquals("status"u8))
            {
                reader.Read();
                facts.Status = reader.TokenType != JsonTokenType.String ? FinalStatus.None : StatusOf(ref reader);
            }
            else if (reader.ValueTextEquals("snapshot"u8))
            {
                reader.Read();
                ReadSnapshot(ref reader, facts);
            }
            else if (reader.ValueTextEquals("items"u8))
            {
                reader.Read();
                ReadItems(ref reader, facts);
            }
            else if (!(facts.Kind == EventKind.StoreCreated && StoreSlot(ref reader, facts)))
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private bool StoreSlot(ref Utf8JsonReader reader, EventFacts facts)
    {
        if (reader.ValueTextEquals("country"u8))
        {
            reader.Read();
            facts.StoreCountry = Intern(ref reader, pools.Dimension);
            return true;
        }
        if (reader.ValueTextEquals("hub"u8))
        {
            reader.Read();
            facts.StoreHub = Intern(ref reader, pools.Dimension);
            return true;
        }
        if (reader.ValueTextEquals("zone"u8))
        {
            reader.Read();
            facts.StoreZone = Intern(ref reader, pools.Dimension);
            return true;
        }
        if (reader.ValueTextEquals("category"u8))
        {
            reader.Read();
            facts.StoreCategory = Intern(ref reader, pools.Dimension);
            return true;
        }
        return false;
    }

    private static void ReadSnapshot(ref Utf8JsonReader reader, EventFacts facts)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        facts.HasSnapshot = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("total"u8))
            {
                reader.Read();
                facts.SnapshotTotal = Number(ref reader);
            }
            else if (reader.ValueTextEquals("commission_amount"u8))
            {
                reader.Read();
                facts.Commission = Number(ref reader);
            }
            else if (reader.ValueTextEquals("refunded_amount"u8))
            {
                reader.Read();
                facts.Refunded = OptionalNumber(ref reader);
            }
            else if (reader.ValueTextEquals("commission_reversed"u8))
            {
                reader.Read();
                facts.Reversed = OptionalNumber(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadItems(ref Utf8JsonReader reader, EventFacts facts)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            int product = 0, quantity = 0;
            double price = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("product_id"u8))
                {
                    reader.Read();
                    product = Intern(ref reader, pools.Products);
                }
                else if (reader.ValueTextEquals("quantity"u8))
                {
                    reader.Read();
                    quantity = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var q) ? q : 0;
                }
                else if (reader.ValueTextEquals("price"u8))
                {
                    reader.Read();
                    price = Number(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            facts.Items.Add((product, quantity, price));
        }
    }

    /// <summary>A number that may be absent: NaN for any other value (skipped whole).</summary>
    private static double OptionalNumber(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetDouble();
        }
        reader.Skip();
        return double.NaN;
    }

    private static double Number(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : 0;

    private int Intern(ref Utf8JsonReader reader, HashedIdPool pool) => Text(ref reader) is { Length: > 0 } text ? pool.Intern(text) : 0;

    private int Intern(ref Utf8JsonReader reader, StringPool pool) => Text(ref reader) is { Length: > 0 } text ? pool.Intern(text) : 0;

    private int Intern(ReadOnlySpan<byte> json, JsonText value, HashedIdPool pool)
    {
        if (value.Escaped)
        {
            var reader = Reader(json, value);
            return Intern(ref reader, pool);
        }
        return Unescaped(json, value) is { Length: > 0 } text ? pool.Intern(text) : 0;
    }

    private int Intern(ReadOnlySpan<byte> json, JsonText value, StringPool pool, Utf8IdCache? cache = null)
    {
        if (value.Escaped)
        {
            var reader = Reader(json, value);
            return Intern(ref reader, pool);
        }
        if (cache is null || !value.IsString)
        {
            return Unescaped(json, value) is { Length: > 0 } text ? pool.Intern(text) : 0;
        }
        var raw = value.Raw(json);
        var id = cache.Find(raw, out var slot);
        if (id == 0)
        {
            id = Unescaped(json, value) is { Length: > 0 } text ? pool.Intern(text) : 0;
            cache.Set(slot, raw, id);
        }
        return id;
    }

    /// <summary>The text of a string token without escapes (empty for no string), decoded as <see cref="Text"/> decodes it.</summary>
    private ReadOnlySpan<char> Unescaped(ReadOnlySpan<byte> json, JsonText value)
    {
        if (!value.IsString)
        {
            return [];
        }
        var raw = value.Raw(json);
        return raw.Length <= _chars.Length
            ? _chars.AsSpan(0, Encoding.UTF8.GetChars(raw, _chars))
            : Encoding.UTF8.GetString(raw).AsSpan();
    }

    /// <summary>A string value's text, copied into a reused buffer when it fits (empty for any other token).</summary>
    private ReadOnlySpan<char> Text(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return [];
        }
        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        if (length <= _chars.Length / 3 || length <= _chars.Length && !reader.ValueIsEscaped)
        {
            try
            {
                return _chars.AsSpan(0, reader.CopyString(_chars));
            }
            catch (InvalidOperationException)
            {
                // An escaped lone surrogate: see StringOf.
            }
        }
        return StringOf(ref reader).AsSpan();
    }
}
