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
    private static readonly HashSet<string> EnvelopeFields = new(StringComparer.Ordinal)
    {
        "event_id", "event_type", "timestamp", "session_id", "user_id", "anonymous_id", "context", "properties",
    };

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

    /// <summary>Normalizes <paramref name="e"/> into <paramref name="batch"/>, or records its rejection there.</summary>
    public void Normalize(JsonElement e, int index, AppendBatch batch, Utf8JsonWriter writer, BatchStores batchStores)
    {
        var errors = new List<string>(0);
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
                eventId = TryGetString(e, "event_id");
                Reject(batch, index, eventId, RejectReason.TooLarge,
                    [$"event: is {raw.Length} bytes, the limit is {_options.MaxEventBytes}"], e);
                return;
            }

            var envelope = ReadEnvelope(e, errors, batch.ReceivedAtMs);
            eventId = envelope.EventId;
            if (errors.Count > 0)
            {
                Reject(batch, index, eventId, RejectReason.InvalidEnvelope, errors, e);
                return;
            }

            var known = _catalog.TryGet(envelope.EventType!, out var rule);
            if (known)
            {
                CheckCatalog(e, envelope, rule, errors);
                if (errors.Count > 0)
                {
                    Reject(batch, index, eventId, RejectReason.InvalidProperties, errors, e);
                    return;
                }
            }

            var offset = batch.WrittenCount;
            var store = Write(e, envelope, known ? rule : null, batch, writer, batchStores);
            batch.AddEvent(index, envelope.EventId!, envelope.TimestampMs, offset, store);
        }
        catch (InvalidOperationException ex)
        {
            // Invalid UTF-16 escapes (lone surrogates) surface here when a string is read.
            Reject(batch, index, eventId, RejectReason.Malformed, [$"event: has an invalid string ({ex.Message})"], e);
        }
    }

    private Envelope ReadEnvelope(JsonElement e, List<string> errors, long receivedAtMs)
    {
        var envelope = new Envelope();
        envelope.EventId = RequiredString(e, "event_id", 128, errors);
        envelope.EventType = RequiredString(e, "event_type", 64, errors);
        if (envelope.EventType is { } type && !IsSnakeCase(type))
        {
            errors.Add($"event_type: must be snake_case (a-z, 0-9, _; starting with a letter), got \"{Clip(type)}\"");
        }
        var timestamp = RequiredString(e, "timestamp", 64, errors);
        if (timestamp is not null)
        {
            if (!TryParseTimestamp(timestamp, out var ts))
            {
                errors.Add($"timestamp: must be ISO 8601 with an offset, like 2026-03-01T12:00:00Z, got \"{Clip(timestamp)}\"");
            }
            else
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
        }
        foreach (var name in (ReadOnlySpan<string>)["session_id", "user_id", "anonymous_id"])
        {
            if (e.TryGetProperty(name, out var id) && id.ValueKind != JsonValueKind.Null)
            {
                if (id.ValueKind != JsonValueKind.String)
                {
                    errors.Add($"{name}: must be a string, got {FieldValidator.Describe(id)}");
                }
                else if (id.GetString()!.Length > 256)
                {
                    errors.Add($"{name}: must be at most 256 characters");
                }
            }
        }
        if (e.TryGetProperty("context", out var context) && context.ValueKind != JsonValueKind.Null)
        {
            if (context.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"context: must be an object, got {FieldValidator.Describe(context)}");
            }
            else
            {
                CheckContext(context, errors);
            }
        }
        if (e.TryGetProperty("properties", out var properties) && properties.ValueKind is not (JsonValueKind.Null or JsonValueKind.Object))
        {
            errors.Add($"properties: must be an object, got {FieldValidator.Describe(properties)}");
        }
        return envelope;
    }

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
                    else if (member.Value.ValueKind == JsonValueKind.String && member.Value.GetString()!.Length > 4096)
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

    private static void CheckCatalog(JsonElement e, Envelope envelope, EventTypeRule rule, List<string> errors)
    {
        foreach (var field in rule.RequiredEnvelope)
        {
            if (!e.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String || value.GetString()!.Length == 0)
            {
                errors.Add($"{field}: is required for {rule.Type}");
            }
        }
        if (rule.Context.Count > 0)
        {
            if (e.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object)
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
        var hasProperties = e.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object;
        if (!hasProperties)
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
        _ = envelope;
    }

    private StoreDimension? Write(JsonElement e, Envelope envelope, EventTypeRule? rule, AppendBatch batch,
        Utf8JsonWriter writer, BatchStores batchStores)
    {
        writer.Reset(batch.Buffer);
        var flags = new List<string>(0);
        var hasProperties = e.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object;
        var hasContext = e.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object;

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
        writer.WriteString("event_id", envelope.EventId);
        writer.WriteString("event_type", envelope.EventType);
        writer.WriteString("timestamp", DateTimeOffset.FromUnixTimeMilliseconds(envelope.TimestampMs).UtcDateTime);
        writer.WriteString("received_at", DateTimeOffset.FromUnixTimeMilliseconds(batch.ReceivedAtMs).UtcDateTime);
        if (envelope.Clamped)
        {
            writer.WriteString("original_timestamp", DateTimeOffset.FromUnixTimeMilliseconds(envelope.OriginalTimestampMs).UtcDateTime);
            flags.Add("timestamp_clamped");
        }
        foreach (var name in (ReadOnlySpan<string>)["session_id", "user_id", "anonymous_id"])
        {
            if (e.TryGetProperty(name, out var id) && id.ValueKind == JsonValueKind.String)
            {
                writer.WriteString(name, id.GetString());
            }
        }
        writer.WriteString("source_system", batch.SourceSystem);
        writer.WriteNumber("catalog_version", _catalog.Version);
        if (rule is null)
        {
            writer.WriteBoolean("custom", true);
        }

        writer.WriteStartObject("context");
        string? userAgent = null;
        if (hasContext)
        {
            foreach (var member in context.EnumerateObject())
            {
                if (member.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }
                if (member.NameEquals("user_agent"))
                {
                    userAgent = member.Value.GetString();
                }
                member.WriteTo(writer);
            }
        }
        if (userAgent is not null)
        {
            var ua = UserAgentParser.Parse(userAgent);
            WriteIfMissing(writer, hasContext, context, "device_type", ua.DeviceType);
            WriteIfMissing(writer, hasContext, context, "os", ua.Os);
            WriteIfMissing(writer, hasContext, context, "browser", ua.Browser);
        }
        if (store is not null)
        {
            WriteIfMissing(writer, hasContext, context, "country", store.Country);
            WriteIfMissing(writer, hasContext, context, "hub", store.Hub);
            WriteIfMissing(writer, hasContext, context, "zone", store.Zone);
            WriteIfMissing(writer, hasContext, context, "category", store.Category);
        }
        writer.WriteEndObject();

        if (hasProperties)
        {
            writer.WritePropertyName("properties");
            properties.WriteTo(writer);
        }
        else
        {
            writer.WriteStartObject("properties");
            writer.WriteEndObject();
        }

        if (rule is { Monetary: true } && hasProperties)
        {
            WriteFxRate(writer, envelope, properties, flags);
        }

        var extra = false;
        foreach (var member in e.EnumerateObject())
        {
            if (EnvelopeFields.Contains(member.Name))
            {
                continue;
            }
            if (!extra)
            {
                writer.WriteStartObject("extra");
                extra = true;
            }
            member.WriteTo(writer);
        }
        if (extra)
        {
            writer.WriteEndObject();
        }

        if (flags.Count > 0)
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
    private void WriteFxRate(Utf8JsonWriter writer, Envelope envelope, JsonElement properties, List<string> flags)
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
        flags.Add("fx_rate_missing");
    }

    private static void WriteIfMissing(Utf8JsonWriter writer, bool hasContext, JsonElement context, string name, string? value)
    {
        if (value is null or "unknown")
        {
            return;
        }
        if (hasContext && context.TryGetProperty(name, out var existing) && existing.ValueKind != JsonValueKind.Null)
        {
            return;
        }
        writer.WriteString(name, value);
    }

    private void Reject(AppendBatch batch, int index, string? eventId, RejectReason reason, List<string> errors, JsonElement e)
    {
        var payload = e.ValueKind == JsonValueKind.Undefined ? "" : e.GetRawText();
        if (payload.Length > _options.MaxEventBytes)
        {
            payload = payload[.._options.MaxEventBytes];
        }
        batch.AddRejected(new QuarantinedEvent(index, eventId, reason.ToString(), errors, payload));
    }

    private static string? RequiredString(JsonElement e, string name, int maxLength, List<string> errors)
    {
        if (!e.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
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

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private sealed class Envelope
    {
        public string? EventId;
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
