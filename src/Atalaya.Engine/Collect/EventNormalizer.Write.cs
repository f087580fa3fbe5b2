using System.Runtime.InteropServices;
using System.Text.Json;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

// The stored form written from a parsed JsonElement: the path for events the single pass
// (EventNormalizer.SinglePass.cs) leaves to the document model.
internal sealed partial class EventNormalizer
{
    private StoreDimension? Write(JsonElement e, in Members m, Envelope envelope, EventTypeRule? rule, AppendBatch batch,
        Utf8JsonWriter writer, BatchStores batchStores)
    {
        writer.Reset(batch.Buffer);
        List<string>? flags = null;
        var properties = m.Properties;
        var context = m.Context;
        var hasProperties = properties.ValueKind == JsonValueKind.Object;
        var hasContext = context.ValueKind == JsonValueKind.Object;

        StoreDimension? created = null;
        if (envelope.EventType == "store_created" && hasProperties)
        {
            created = new StoreDimension(
                properties.GetProperty("store_id").GetString()!, TryGetString(properties, "store_name"),
                TryGetString(properties, "country"), TryGetString(properties, "hub"), TryGetString(properties, "zone"),
                TryGetString(properties, "category"), envelope.TimestampMs);
            batchStores.Set(created);
        }
        StoreDimension? store = null;
        if (hasProperties && TryGetString(properties, "store_id") is { } storeId)
        {
            store = batchStores.Find(storeId, _stores);
        }

        writer.WriteStartObject();
        writer.WritePropertyName("event_id"u8);
        writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(m.EventId), skipInputValidation: true);
        writer.WritePropertyName("event_type"u8);
        writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(m.EventType), skipInputValidation: true);
        writer.WriteString("timestamp"u8, DateTimeOffset.FromUnixTimeMilliseconds(envelope.TimestampMs).UtcDateTime);
        writer.WriteString("received_at"u8, DateTimeOffset.FromUnixTimeMilliseconds(batch.ReceivedAtMs).UtcDateTime);
        if (envelope.Clamped)
        {
            writer.WriteString("original_timestamp"u8, DateTimeOffset.FromUnixTimeMilliseconds(envelope.OriginalTimestampMs).UtcDateTime);
            (flags ??= []).Add("timestamp_clamped");
        }
        WriteId(writer, "session_id"u8, m.SessionId);
        WriteId(writer, "user_id"u8, m.UserId);
        WriteId(writer, "anonymous_id"u8, m.AnonymousId);
        writer.WriteString("source_system"u8, batch.SourceSystem);
        writer.WriteNumber("catalog_version"u8, _catalog.Version);
        if (rule is null)
        {
            writer.WriteBoolean("custom"u8, true);
        }

        WriteContext(writer, context, store);

        writer.WritePropertyName("properties"u8);
        if (hasProperties)
        {
            // Validated already: copied as sent, byte for byte.
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(properties), skipInputValidation: true);
        }
        else
        {
            writer.WriteRawValue("{}"u8, skipInputValidation: true);
        }

        if (rule is { Monetary: true } && hasProperties)
        {
            WriteFxRate(writer, envelope, properties, ref flags);
        }

        if (m.HasExtra)
        {
            writer.WriteStartObject("extra"u8);
            foreach (var member in e.EnumerateObject())
            {
                if (!Members.IsEnvelope(member))
                {
                    member.WriteTo(writer);
                }
            }
            writer.WriteEndObject();
        }

        if (flags is not null)
        {
            writer.WriteStartArray("flags");
            foreach (var flag in flags)
            {
                writer.WriteStringValue(flag);
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
        writer.Flush();
        return created;
    }

    /// <summary>
    /// Records the rate used to report this event's amounts: the one the source froze
    /// (properties or snapshot), 1 for the reporting currency, else the configured table's.
    /// </summary>
    private void WriteFxRate(Utf8JsonWriter writer, Envelope envelope, JsonElement properties, ref List<string>? flags)
    {
        var owner = properties;
        if (envelope.EventType == "order_status_changed")
        {
            if (!properties.TryGetProperty("snapshot", out owner) || owner.ValueKind != JsonValueKind.Object)
            {
                return;
            }
        }
        var currency = TryGetString(owner, "currency");
        if (currency is null)
        {
            return;
        }
        writer.WriteString("currency", currency);
        if (owner.TryGetProperty("fx_rate_to_reporting", out var frozen) && frozen.ValueKind == JsonValueKind.Number)
        {
            writer.WriteNumber("fx_rate_to_reporting", frozen.GetDecimal());
            writer.WriteString("fx_source", "event");
            return;
        }
        if (string.Equals(currency, _options.ReportingCurrency, StringComparison.Ordinal))
        {
            writer.WriteNumber("fx_rate_to_reporting", 1m);
            writer.WriteString("fx_source", "identity");
            return;
        }
        var day = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(envelope.TimestampMs).UtcDateTime);
        if (_fx.TryGet(currency, day, out var rate))
        {
            writer.WriteNumber("fx_rate_to_reporting", rate);
            writer.WriteString("fx_source", "table");
            return;
        }
        (flags ??= []).Add("fx_rate_missing");
    }

    private static void WriteId(Utf8JsonWriter writer, ReadOnlySpan<byte> name, JsonElement id)
    {
        if (id.ValueKind == JsonValueKind.String)
        {
            writer.WritePropertyName(name);
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(id), skipInputValidation: true);
        }
    }

    /// <summary>
    /// Writes the client's context as sent (raw bytes) plus the fields the hub derives where the
    /// client left them out: device, OS and browser from the user agent; country, hub, zone and
    /// category from the event's store. The derived fields are spliced in before the closing
    /// brace, so the client's part is copied, not re-serialized.
    /// </summary>
    private static void WriteContext(Utf8JsonWriter writer, JsonElement context, StoreDimension? store)
    {
        var present = ContextFields.None;
        JsonElement userAgent = default;
        if (context.ValueKind == JsonValueKind.Object)
        {
            foreach (var member in context.EnumerateObject())
            {
                var field = ContextFieldOf(member);
                if (member.Value.ValueKind == JsonValueKind.Null)
                {
                    present |= ContextFields.HasNull;
                    continue;
                }
                present |= field;
                if (field == ContextFields.UserAgent)
                {
                    userAgent = member.Value;
                }
            }
        }

        var ua = userAgent.ValueKind == JsonValueKind.String ? UserAgentCache.Get(userAgent) : null;
        Span<(ContextFields Field, string? Value, byte[]? Fragment)> derived =
        [
            (ContextFields.DeviceType, ua?.Info.DeviceType, ua?.DeviceType),
            (ContextFields.Os, ua?.Info.Os, ua?.Os),
            (ContextFields.Browser, ua?.Info.Browser, ua?.Browser),
            (ContextFields.Country, store?.Country, null), (ContextFields.Hub, store?.Hub, null), (ContextFields.Zone, store?.Zone, null),
            (ContextFields.Category, store?.Category, null),
        ];
        var additions = 0;
        for (var i = 0; i < derived.Length; i++)
        {
            ref var d = ref derived[i];
            if (d.Value is null or "unknown" || (present & d.Field) != 0)
            {
                d.Value = null;
                continue;
            }
            d.Fragment ??= JsonFragments.Get(ContextFieldName(d.Field), d.Value);
            additions++;
        }

        writer.WritePropertyName("context"u8);
        if (context.ValueKind != JsonValueKind.Object || (present & ContextFields.HasNull) != 0)
        {
            // No context, or nulls to drop: write it member by member.
            writer.WriteStartObject();
            if (context.ValueKind == JsonValueKind.Object)
            {
                foreach (var member in context.EnumerateObject())
                {
                    if (member.Value.ValueKind != JsonValueKind.Null)
                    {
                        member.WriteTo(writer);
                    }
                }
            }
            foreach (var (field, value, _) in derived)
            {
                if (value is not null)
                {
                    writer.WriteString(ContextFieldName(field), value);
                }
            }
            writer.WriteEndObject();
            return;
        }

        var raw = JsonMarshal.GetRawUtf8Value(context);
        if (additions == 0)
        {
            writer.WriteRawValue(raw, skipInputValidation: true);
            return;
        }
        var body = raw[..raw.LastIndexOf((byte)'}')].TrimEnd(" \t\r\n"u8);
        var size = body.Length + 1;
        foreach (var (_, value, fragment) in derived)
        {
            if (value is not null)
            {
                size += fragment!.Length + 1;
            }
        }
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(size);
        try
        {
            body.CopyTo(scratch);
            var length = body.Length;
            var empty = body.Length == 1;
            foreach (var (_, value, fragment) in derived)
            {
                if (value is null)
                {
                    continue;
                }
                if (!empty)
                {
                    scratch[length++] = (byte)',';
                }
                empty = false;
                fragment!.CopyTo(scratch.AsSpan(length));
                length += fragment!.Length;
            }
            scratch[length++] = (byte)'}';
            writer.WriteRawValue(scratch.AsSpan(0, length), skipInputValidation: true);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    [Flags]
    private enum ContextFields
    {
        None = 0,
        DeviceType = 1,
        Os = 2,
        Browser = 4,
        Country = 8,
        Hub = 16,
        Zone = 32,
        Category = 64,
        UserAgent = 128,
        HasNull = 256,
    }

    private static ContextFields ContextFieldOf(JsonProperty member) =>
        member.NameEquals("user_agent"u8) ? ContextFields.UserAgent
        : member.NameEquals("device_type"u8) ? ContextFields.DeviceType
        : member.NameEquals("os"u8) ? ContextFields.Os
        : member.NameEquals("browser"u8) ? ContextFields.Browser
        : member.NameEquals("country"u8) ? ContextFields.Country
        : member.NameEquals("hub"u8) ? ContextFields.Hub
        : member.NameEquals("zone"u8) ? ContextFields.Zone
        : member.NameEquals("category"u8) ? ContextFields.Category
        : ContextFields.None;

    private static string ContextFieldName(ContextFields field) => field switch
    {
        ContextFields.DeviceType => "device_type",
        ContextFields.Os => "os",
        ContextFields.Browser => "browser",
        ContextFields.Country => "country",
        ContextFields.Hub => "hub",
        ContextFields.Zone => "zone",
        _ => "category",
    };
}
