using System.Text.Json;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

// The single pass's third job, besides validating and writing: noting where the facts the KPI
// projection reads are in the stored form (CollectedFacts), so that the commit applies them
// without reading the stored JSON again. Each choice here mirrors StoredEventReader on the stored
// bytes; wherever mirroring it would take more than a token (a repeated member, a container where
// the reader expects a scalar, a number it would refuse), the facts are left incomplete and the
// projection reads the stored event instead.
internal sealed partial class EventNormalizer
{
    private static readonly (ContextMember Member, DerivedDimensions Derived)[] StoreDimensions =
        [(ContextMember.Country, DerivedDimensions.Country), (ContextMember.Hub, DerivedDimensions.Hub),
         (ContextMember.Zone, DerivedDimensions.Zone), (ContextMember.Category, DerivedDimensions.Category)];

    private static ref Token DimensionToken(ref EventScan s, ContextMember member)
    {
        switch (member)
        {
            case ContextMember.Country: return ref s.Country;
            case ContextMember.Hub: return ref s.Hub;
            case ContextMember.Zone: return ref s.Zone;
            case ContextMember.Category: return ref s.Category;
            case ContextMember.Source: return ref s.Source;
            case ContextMember.Platform: return ref s.Platform;
            default: return ref s.AppId;
        }
    }

    /// <summary>The properties' facts, from the last occurrence of each member.</summary>
    private static void TakePropertyFacts(CompiledType type, ulong seen, ulong repeated, ReadOnlySpan<Occurrence> found, ref EventScan s)
    {
        ReadOnlySpan<int> members = [type.StoreId, type.OrderId, type.ProductId, type.ProductName, type.Status,
            type.Total, type.Amount, type.Snapshot, type.Items, type.Priority, type.ProductCategory, type.QuantityAvailable];
        foreach (var i in members)
        {
            s.FactsUnsure |= (repeated & (1UL << i)) != 0;
        }
        s.OrderId = TextOf(type.OrderId, seen, found);
        s.ProductId = TextOf(type.ProductId, seen, found);
        s.ProductName = ScalarOf(type.ProductName, seen, found, ref s);
        s.Status = ScalarOf(type.Status, seen, found, ref s);
        s.Priority = TextOf(type.Priority, seen, found);
        s.Total = NumberOf(type.Total, seen, found, ref s);
        s.Amount = NumberOf(type.Amount, seen, found, ref s);
        s.Snapshot = ContainerOf(type.Snapshot, JsonTokenType.StartObject, seen, found);
        s.Items = ContainerOf(type.Items, JsonTokenType.StartArray, seen, found);
        s.ProductCategory = TextOf(type.ProductCategory, seen, found);
        // As RecommendationEvent takes it: a number as a double, NaN for anything else but a
        // container, which it does not skip (the model then reads the stored event).
        var quantity = found[type.QuantityAvailable];
        if ((seen & (1UL << type.QuantityAvailable)) != 0)
        {
            s.FactsUnsure |= quantity.Type is JsonTokenType.StartObject or JsonTokenType.StartArray;
            s.HasQuantity = quantity.Type == JsonTokenType.Number && quantity.HasDouble;
            s.QuantityAvailable = quantity.Double;
        }
    }

    /// <summary>A string member's token; default (no text) for any other value, as the reader takes it.</summary>
    private static Token TextOf(int i, ulong seen, ReadOnlySpan<Occurrence> found) =>
        (seen & (1UL << i)) != 0 && found[i].Type == JsonTokenType.String ? found[i].Token : default;

    /// <summary>Like <see cref="TextOf"/>, for members the reader does not skip when they are not scalars.</summary>
    private static Token ScalarOf(int i, ulong seen, ReadOnlySpan<Occurrence> found, ref EventScan s)
    {
        if ((seen & (1UL << i)) != 0 && found[i].Type is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            s.FactsUnsure = true;
        }
        return TextOf(i, seen, found);
    }

    private static double NumberOf(int i, ulong seen, ReadOnlySpan<Occurrence> found, ref EventScan s)
    {
        if ((seen & (1UL << i)) == 0)
        {
            return 0;
        }
        var o = found[i];
        if (o.Type == JsonTokenType.Number)
        {
            s.FactsUnsure |= !o.HasDouble;
            return o.Double;
        }
        s.FactsUnsure |= o.Type is JsonTokenType.StartObject or JsonTokenType.StartArray;
        return 0;
    }

    /// <summary>The whole object or array (from its first byte to past its last), when the member is one.</summary>
    private static Token ContainerOf(int i, JsonTokenType type, ulong seen, ReadOnlySpan<Occurrence> found) =>
        (seen & (1UL << i)) != 0 && found[i].Type == type
            ? new Token { Start = found[i].Token.Start, Length = found[i].End - found[i].Token.Start }
            : default;

    /// <summary>
    /// Completes the facts of a written event (the write noted the envelope's parts) from its scan:
    /// the client's context and properties were copied as sent, so a token of theirs moved by
    /// <paramref name="contextShift"/> / <paramref name="propertiesShift"/> from the request to the
    /// event's stored form.
    /// </summary>
    private static void CollectFacts(ReadOnlySpan<byte> json, ref EventScan s, BatchTarget target, ref CollectedFacts facts,
        int contextShift, int propertiesShift)
    {
        facts.TimestampMs = s.TimestampMs;
        facts.Custom = s.Type!.Rule is null;
        facts.Country = Stored(s.Country, contextShift);
        facts.Hub = Stored(s.Hub, contextShift);
        facts.Zone = Stored(s.Zone, contextShift);
        facts.Category = Stored(s.Category, contextShift);
        facts.Source = Stored(s.Source, contextShift);
        facts.Platform = Stored(s.Platform, contextShift);
        facts.AppId = Stored(s.AppId, contextShift);
        facts.StoreId = Stored(s.StoreId, propertiesShift);
        facts.OrderId = Stored(s.OrderId, propertiesShift);
        facts.ProductId = Stored(s.ProductId, propertiesShift);
        facts.ProductName = Stored(s.ProductName, propertiesShift);
        facts.Status = Stored(s.Status, propertiesShift);
        facts.Priority = Stored(s.Priority, propertiesShift);
        facts.Total = s.Total;
        facts.Amount = s.Amount;
        facts.ProductCategory = Stored(s.ProductCategory, propertiesShift);
        facts.QuantityAvailable = s.HasQuantity ? s.QuantityAvailable : double.NaN;
        var complete = !s.FactsUnsure;
        facts.Refunded = facts.Reversed = double.NaN;
        if (s.Snapshot.Length > 0)
        {
            facts.HasSnapshot = true;
            complete &= ReadSnapshot(json, s.Snapshot, ref facts);
        }
        if (s.Items.Length > 0)
        {
            facts.FirstItem = target.Batch.ItemCount;
            complete &= ReadItems(json, s.Items, propertiesShift, target.Batch);
            facts.ItemCount = target.Batch.ItemCount - facts.FirstItem;
        }
        facts.CompleteForRecommendations = complete;
        // inventory_snapshot's quantity as the KPI projection takes it (an integer) is not among the
        // collected facts: the projection reads the stored event.
        facts.Complete = complete && s.Type.Rule?.Type != "inventory_snapshot";
    }

    private static JsonText Stored(Token token, int shift) =>
        token.Length >= 2 ? new JsonText(token.Start + shift, token.Length, token.Escaped) : default;

    /// <summary>The snapshot's total and commission, the last of each, as <c>StoredEventReader.ReadSnapshot</c> takes them.</summary>
    private static bool ReadSnapshot(ReadOnlySpan<byte> json, Token snapshot, ref CollectedFacts facts)
    {
        var r = new Utf8JsonReader(json.Slice(snapshot.Start, snapshot.Length));
        r.Read();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueIsEscaped)
            {
                return false;
            }
            var total = r.ValueSpan.SequenceEqual("total"u8);
            var commission = !total && r.ValueSpan.SequenceEqual("commission_amount"u8);
            var refunded = r.ValueSpan.SequenceEqual("refunded_amount"u8);
            var reversed = r.ValueSpan.SequenceEqual("commission_reversed"u8);
            r.Read();
            if (refunded || reversed)
            {
                // As StoredEventReader.OptionalNumber: a number, else absent (NaN).
                var value = double.NaN;
                if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray
                    || (r.TokenType == JsonTokenType.Number && !r.TryGetDouble(out value)))
                {
                    return false;
                }
                (refunded ? ref facts.Refunded : ref facts.Reversed) = value;
            }
            else if (total || commission)
            {
                if (!TryNumber(ref r, out var value))
                {
                    return false;
                }
                (total ? ref facts.SnapshotTotal : ref facts.Commission) = value;
            }
            else
            {
                r.Skip();
            }
        }
        return true;
    }

    /// <summary>The items' product ids, quantities and prices, as <c>StoredEventReader.ReadItems</c> takes them.</summary>
    private static bool ReadItems(ReadOnlySpan<byte> json, Token items, int shift, AppendBatch batch)
    {
        var r = new Utf8JsonReader(json.Slice(items.Start, items.Length));
        r.Read();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            // The reader stops at the first element that is not an object.
            if (r.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            Token product = default;
            int quantity = 0, seen = 0;
            double price = 0;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueIsEscaped)
                {
                    return false;
                }
                var member = r.ValueSpan.SequenceEqual("product_id"u8) ? 1 : r.ValueSpan.SequenceEqual("quantity"u8) ? 2
                    : r.ValueSpan.SequenceEqual("price"u8) ? 4 : 0;
                r.Read();
                if ((seen & member) != 0)
                {
                    // A repeated product id would be interned twice.
                    return false;
                }
                seen |= member;
                switch (member)
                {
                    case 1:
                        product = r.TokenType == JsonTokenType.String ? Token.Of(ref r, items.Start) : default;
                        r.Skip();
                        break;
                    case 2:
                        if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                        {
                            return false;
                        }
                        quantity = r.TokenType == JsonTokenType.Number && r.TryGetInt32(out var q) ? q : 0;
                        break;
                    case 4:
                        if (!TryNumber(ref r, out price))
                        {
                            return false;
                        }
                        break;
                    default:
                        r.Skip();
                        break;
                }
            }
            batch.AddItem(new CollectedItem(Stored(product, shift), quantity, price));
        }
        return true;
    }

    /// <summary>A number as the reader's <c>Number</c> takes it (0 for other scalars); false where it would throw or not skip.</summary>
    private static bool TryNumber(ref Utf8JsonReader r, out double value)
    {
        value = 0;
        return r.TokenType switch
        {
            JsonTokenType.Number => r.TryGetDouble(out value),
            JsonTokenType.StartObject or JsonTokenType.StartArray => false,
            _ => true,
        };
    }
}
