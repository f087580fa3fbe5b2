using System.Text.Json;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Reads the facts KPIs need from one stored (normalized) event in a single forward pass with
/// <see cref="Utf8JsonReader"/>, skipping everything else (user agent, referrer, traits…).
/// Text values are interned into the projection's pools without allocating for known values.
/// The stored form is the hub's own output, so the reader trusts its shape; unexpected types are
/// ignored rather than trusted.
/// </summary>
public sealed class StoredEventReader(ProjectionPools pools)
{
    private readonly char[] _chars = new char[1024];

    public void Read(ReadOnlySpan<byte> json, EventFacts facts)
    {
        facts.Clear();
        int userId = 0, anonymousId = 0;
        var reader = new Utf8JsonReader(json);
        reader.Read(); // {
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
            else if (reader.ValueTextEquals("product_name"u8) && facts.Kind == EventKind.ProductViewed)
            {
                reader.Read();
                facts.ProductName = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("status"u8))
            {
                reader.Read();
                facts.Status = reader.TokenType != JsonTokenType.String ? FinalStatus.None
                    : reader.ValueTextEquals("ENTREGADO"u8) ? FinalStatus.Delivered
                    : reader.ValueTextEquals("REEMBOLSADO"u8) ? FinalStatus.Refunded
                    : FinalStatus.None;
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

    private static double Number(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : 0;

    private int Intern(ref Utf8JsonReader reader, HashedIdPool pool) => Text(ref reader) is { Length: > 0 } text ? pool.Intern(text) : 0;

    private int Intern(ref Utf8JsonReader reader, StringPool pool) => Text(ref reader) is { Length: > 0 } text ? pool.Intern(text) : 0;

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
            return _chars.AsSpan(0, reader.CopyString(_chars));
        }
        return reader.GetString().AsSpan();
    }
}
