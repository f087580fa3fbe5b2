using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

/// <summary>
/// Validates one native event and writes its normalized form into an <see cref="AppendBatch"/>.
/// Steps, in order: size → envelope → catalog rules → enrich (user agent, store dimensions, FX rate,
/// future-timestamp clamp) → write. An event is either written whole or rejected with every error
/// found; nothing is written for a rejected event.
///
/// The stored form keeps the client's <c>context</c> and <c>properties</c> as sent, adds derived
/// context fields only where the client left them out, and records what the hub decided
/// (<c>received_at</c>, <c>source_system</c>, <c>catalog_version</c>, the FX rate used, flags).
/// </summary>
public sealed class EventNormalizer
{
    /// <summary>Stored events keep non-ASCII text as UTF-8 rather than \u escapes: smaller and readable in SQL.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] DeviceTypes = ["mobile", "tablet", "desktop"];
    private static readonly string[] Platforms = ["web", "ios", "android", "server"];

    private readonly EventCatalog _catalog;
    private readonly StoreDirectory _stores;
    private readonly FxRateTable _fx;
    private readonly IngestOptions _options;

    public EventNormalizer(EventCatalog catalog, StoreDirectory stores, FxRateTable fx, IngestOptions options)
    {
        _catalog = catalog;
        _stores = stores;
        _fx = fx;
        _options = options;
    }

    [ThreadStatic]
    private static List<string>? t_errors;

    /// <summary>Normalizes <paramref name="e"/> into <paramref name="batch"/>, or records its rejection there.</summary>
    public void Normalize(JsonElement e, int index, AppendBatch batch, Utf8JsonWriter writer, BatchStores batchStores)
    {
        // One list per thread, cleared per event; a rejection takes a copy.
        var errors = t_errors ??= [];
        errors.Clear();
        string? eventId = null;
        try
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Reject(batch, index, null, RejectReason.Malformed, [$"event: must be a JSON object, got {FieldValidator.Describe(e)}"], e);
                return;
            }
            var raw = JsonMarshal.GetRawUtf8Value(e);
            if (raw.Length > _options.MaxEventBytes)
            {
                eventId = ClipId(TryGetString(e, "event_id"));
                Reject(batch, index, eventId, RejectReason.TooLarge,
                    [$"event: is {raw.Length} bytes, the limit is {_options.MaxEventBytes}"], e);
                return;
            }

            var members = Members.Scan(e);
            var envelope = ReadEnvelope(members, errors, batch.ReceivedAtMs);
            if (errors.Count > 0)
            {
                eventId = ClipId(TryGetString(e, "event_id"));
            }
            if (errors.Count > 0)
            {
                Reject(batch, index, eventId, RejectReason.InvalidEnvelope, errors, e);
                return;
            }

            var known = _catalog.TryGet(envelope.EventType!, out var rule);
            if (known)
            {
                CheckCatalog(members, rule, errors);
                if (errors.Count > 0)
                {
                    eventId = ClipId(TryGetString(e, "event_id"));
                    Reject(batch, index, eventId, RejectReason.InvalidProperties, errors, e);
                    return;
                }
            }

            batch.BeginEvent();
            var offset = batch.WrittenCount;
            var store = Write(e, members, envelope, known ? rule : null, batch, writer, batchStores);
            batch.AddEvent(index, EventIdIndex.HashJsonString(members.EventId), envelope.TimestampMs, offset, store);
        }
        catch (InvalidOperationException ex)
        {
            // Invalid UTF-16 escapes (lone surrogates) surface here when a string is read.
            Reject(batch, index, eventId, RejectReason.Malformed, [$"event: has an invalid string ({ex.Message})"], e);
        }
    }

    private Envelope ReadEnvelope(in Members m, List<string> errors, long receivedAtMs)
    {
        CheckRequiredString(m.EventId, "event_id", 128, errors);
        var envelope = new Envelope { EventType = RequiredString(m.EventType, "event_type", 64, errors) };
        if (envelope.EventType is { } type && !IsSnakeCase(type))
        {
            errors.Add($"event_type: must be snake_case (a-z, 0-9, _; starting with a letter), got \"{Clip(type)}\"");
        }
        if (TryReadTimestamp(m.Timestamp, errors, out var ts))
        {
            var ms = ts.ToUnixTimeMilliseconds();
            envelope.OriginalTimestampMs = ms;
            envelope.TimestampMs = ms;
            if (ms > receivedAtMs + (long)_options.MaxFutureSkew.TotalMilliseconds)
            {
                envelope.TimestampMs = receivedAtMs;
                envelope.Clamped = true;
            }
        }
        CheckId(m.SessionId, "session_id", errors);
        CheckId(m.UserId, "user_id", errors);
        CheckId(m.AnonymousId, "anonymous_id", errors);
        if (m.Context.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            if (m.Context.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"context: must be an object, got {FieldValidator.Describe(m.Context)}");
            }
            else
            {
                CheckContext(m.Context, errors);
            }
        }
        if (m.Properties.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
        {
            errors.Add($"properties: must be an object, got {FieldValidator.Describe(m.Properties)}");
        }
        return envelope;
    }

    private static void CheckId(JsonElement id, string name, List<string> errors)
    {
        if (id.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return;
        }
        if (id.ValueKind != JsonValueKind.String)
        {
            errors.Add($"{name}: must be a string, got {FieldValidator.Describe(id)}");
        }
        else if (JsonMarshal.GetRawUtf8Value(id).Length > 258 && id.GetString()!.Length > 256)
        {
            errors.Add($"{name}: must be at most 256 characters");
        }
    }

    /// <summary>
    /// Reads the timestamp from its UTF-8 text without allocating when it is the common
    /// <c>…Z</c> / <c>…±hh:mm</c> form; other ISO 8601 spellings go through the string path.
    /// </summary>
    private static bool TryReadTimestamp(JsonElement value, List<string> errors, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            errors.Add("timestamp: is required");
            return false;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"timestamp: must be a string, got {FieldValidator.Describe(value)}");
            return false;
        }
        var raw = JsonMarshal.GetRawUtf8Value(value);
        if (raw.Length is >= 22 and <= 42 && HasOffset(raw[1..^1]) && value.TryGetDateTimeOffset(out timestamp)
            && timestamp.Year is >= 2000 and <= 2100)
        {
            return true;
        }
        var text = value.GetString()!;
        if (TryParseTimestamp(text, out timestamp))
        {
            return true;
        }
        errors.Add($"timestamp: must be ISO 8601 with an offset, like 2026-03-01T12:00:00Z, got \"{Clip(text)}\"");
        return false;
    }

    private static bool HasOffset(ReadOnlySpan<byte> text) =>
        text.Length >= 20 && text[10] == (byte)'T'
        && (text[^1] == (byte)'Z' || (text[^6] is (byte)'+' or (byte)'-' && text[^3] == (byte)':'));

    private static void CheckContext(JsonElement context, List<string> errors)
    {
        foreach (var member in context.EnumerateObject())
        {
            switch (member.Name)
            {
                case "ip" or "user_agent" or "referrer" or "page_url" or "os" or "browser" or "hub" or "zone"
                    or "source" or "app_id" or "category" or "locale" or "timezone":
                    if (member.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                    {
                        errors.Add($"context.{member.Name}: must be a string, got {FieldValidator.Describe(member.Value)}");
                    }
                    else if (member.Value.ValueKind == JsonValueKind.String && FieldValidator.LongerThan(member.Value, 4096))
                    {
                        errors.Add($"context.{member.Name}: must be at most 4096 characters");
                    }
                    break;
                case "device_type":
                    CheckEnum(member, DeviceTypes, errors);
                    break;
                case "platform":
                    CheckEnum(member, Platforms, errors);
                    break;
                case "country":
                    if (member.Value.ValueKind != JsonValueKind.Null)
                    {
                        FieldValidator.Validate(member.Value, CountryRule, "context.country", errors);
                    }
                    break;
            }
        }
    }

    private static readonly FieldRule CountryRule = new("country", FieldKind.Country, true, null, null, null, null, null, [], null);

    private static void CheckEnum(JsonProperty member, string[] allowed, List<string> errors)
    {
        if (member.Value.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (member.Value.ValueKind != JsonValueKind.String || !allowed.Contains(member.Value.GetString(), StringComparer.Ordinal))
        {
            errors.Add($"context.{member.Name}: must be one of {string.Join(", ", allowed)}, got {FieldValidator.Describe(member.Value)}");
        }
    }

    private static void CheckCatalog(in Members m, EventTypeRule rule, List<string> errors)
    {
        foreach (var field in rule.RequiredEnvelope)
        {
            var value = m.Envelope(field);
            if (value.ValueKind != JsonValueKind.String || value.GetString()!.Length == 0)
            {
                errors.Add($"{field}: is required for {rule.Type}");
            }
        }
        if (rule.Context.Count > 0)
        {
            if (m.Context is { ValueKind: JsonValueKind.Object } context)
            {
                FieldValidator.ValidateObject(context, rule.Context, "context", errors);
            }
            else
            {
                foreach (var field in rule.Context.Where(f => f.Required))
                {
                    errors.Add($"context.{field.Name}: is required for {rule.Type}");
                }
            }
        }
        var properties = m.Properties;
        if (properties.ValueKind != JsonValueKind.Object)
        {
            foreach (var field in rule.Properties.Where(f => f.Required))
            {
                errors.Add($"properties.{field.Name}: is required for {rule.Type}");
            }
            return;
        }
        FieldValidator.ValidateObject(properties, rule.Properties, "properties", errors);
        foreach (var when in rule.When)
        {
            if (properties.TryGetProperty(when.Field, out var v) && v.ValueKind == JsonValueKind.String
                && when.Values.Contains(v.GetString(), StringComparer.Ordinal))
            {
                foreach (var required in when.Require)
                {
                    if (!properties.TryGetProperty(required, out var r) || r.ValueKind == JsonValueKind.Null)
                    {
                        errors.Add($"properties.{required}: is required when {when.Field} is {v.GetString()}");
                    }
                }
            }
        }
    }

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

    private void Reject(AppendBatch batch, int index, string? eventId, RejectReason reason, List<string> errors, JsonElement e)
    {
        var payload = e.ValueKind == JsonValueKind.Undefined ? "" : e.GetRawText();
        if (payload.Length > _options.MaxEventBytes)
        {
            payload = payload[.._options.MaxEventBytes];
        }
        batch.AddRejected(new QuarantinedEvent(index, eventId, reason.ToString(), errors.ToArray(), payload));
    }

    /// <summary>A required string checked without decoding it (see <see cref="FieldValidator.LongerThan"/>).</summary>
    private static bool CheckRequiredString(JsonElement value, string name, int maxLength, List<string> errors)
    {
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            errors.Add($"{name}: is required");
            return false;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"{name}: must be a string, got {FieldValidator.Describe(value)}");
            return false;
        }
        if (value.ValueEquals(ReadOnlySpan<byte>.Empty))
        {
            errors.Add($"{name}: must not be empty");
            return false;
        }
        if (FieldValidator.LongerThan(value, maxLength))
        {
            errors.Add($"{name}: must be at most {maxLength} characters, got {value.GetString()!.Length}");
            return false;
        }
        return true;
    }

    private static string? RequiredString(JsonElement value, string name, int maxLength, List<string> errors)
    {
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            errors.Add($"{name}: is required");
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"{name}: must be a string, got {FieldValidator.Describe(value)}");
            return null;
        }
        var text = value.GetString()!;
        if (text.Length == 0)
        {
            errors.Add($"{name}: must not be empty");
            return null;
        }
        if (text.Length > maxLength)
        {
            errors.Add($"{name}: must be at most {maxLength} characters, got {text.Length}");
            return null;
        }
        return text;
    }

    private static string? TryGetString(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    internal static bool IsSnakeCase(string text)
    {
        if (text.Length == 0 || text[0] is < 'a' or > 'z')
        {
            return false;
        }
        foreach (var c in text)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>ISO 8601 date and time with an explicit offset (Z or ±hh:mm), years 2000–2100.</summary>
    public static bool TryParseTimestamp(string text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (text.Length is < 20 or > 40 || text[4] != '-' || text[7] != '-' || text[10] is not ('T' or 't'))
        {
            return false;
        }
        var last = text[^1];
        var hasOffset = last is 'Z' or 'z'
            || (text[^6] is '+' or '-' && text[^3] == ':')
            || (text[^5] is '+' or '-' && char.IsAsciiDigit(text[^4]) && text[^3] != ':');
        if (!hasOffset || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out timestamp))
        {
            return false;
        }
        return timestamp.Year is >= 2000 and <= 2100;
    }

    /// <summary>An id echoed in a rejection: at most the 128 characters a valid id may have.</summary>
    internal static string? ClipId(string? id) => id is { Length: > 128 } ? id[..128] : id;

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>The envelope's members, found in one pass over the event's properties.</summary>
    private struct Members
    {
        public JsonElement EventId, EventType, Timestamp, SessionId, UserId, AnonymousId, Context, Properties;
        public bool HasExtra;

        public static Members Scan(JsonElement e)
        {
            var m = default(Members);
            foreach (var member in e.EnumerateObject())
            {
                if (member.NameEquals("event_id"u8)) { m.EventId = member.Value; }
                else if (member.NameEquals("event_type"u8)) { m.EventType = member.Value; }
                else if (member.NameEquals("timestamp"u8)) { m.Timestamp = member.Value; }
                else if (member.NameEquals("session_id"u8)) { m.SessionId = member.Value; }
                else if (member.NameEquals("user_id"u8)) { m.UserId = member.Value; }
                else if (member.NameEquals("anonymous_id"u8)) { m.AnonymousId = member.Value; }
                else if (member.NameEquals("context"u8)) { m.Context = member.Value; }
                else if (member.NameEquals("properties"u8)) { m.Properties = member.Value; }
                else { m.HasExtra = true; }
            }
            return m;
        }

        public static bool IsEnvelope(JsonProperty member) =>
            member.NameEquals("event_id"u8) || member.NameEquals("event_type"u8) || member.NameEquals("timestamp"u8)
            || member.NameEquals("session_id"u8) || member.NameEquals("user_id"u8) || member.NameEquals("anonymous_id"u8)
            || member.NameEquals("context"u8) || member.NameEquals("properties"u8);

        public readonly JsonElement Envelope(string name) => name switch
        {
            "session_id" => SessionId,
            "user_id" => UserId,
            "anonymous_id" => AnonymousId,
            _ => default,
        };
    }

    private struct Envelope
    {
        public string? EventType;
        public long TimestampMs;
        public long OriginalTimestampMs;
        public bool Clamped;
    }
}

/// <summary>
/// Stores created earlier in the same request, so that an order that follows its store's
/// <c>store_created</c> in one batch already gets the store's dimensions.
/// </summary>
public sealed class BatchStores
{
    private Dictionary<string, StoreDimension>? _created;

    public void Set(StoreDimension store) => (_created ??= new(StringComparer.Ordinal))[store.StoreId] = store;

    public StoreDimension? Find(string storeId, StoreDirectory directory) =>
        _created is not null && _created.TryGetValue(storeId, out var local) ? local
        : directory.TryGet(storeId, out var known) ? known
        : null;
}
