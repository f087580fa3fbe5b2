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
internal sealed partial class EventNormalizer
{
    /// <summary>Stored events keep non-ASCII text as UTF-8 rather than \u escapes: smaller and readable in SQL.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] DeviceTypes = ["mobile", "tablet", "desktop"];
    private static readonly string[] Platforms = ["web", "ios", "android", "server"];
    private static readonly byte[][] DeviceTypesUtf8 = [.. DeviceTypes.Select(System.Text.Encoding.UTF8.GetBytes)];
    private static readonly byte[][] PlatformsUtf8 = [.. Platforms.Select(System.Text.Encoding.UTF8.GetBytes)];

    private readonly EventCatalog _catalog;
    private readonly StoreDirectory _stores;
    private readonly FxRateTable _fx;
    private readonly IngestOptions _options;
    private readonly CompiledCatalog _compiled;
    private readonly byte[] _reportingCurrency;

    public EventNormalizer(EventCatalog catalog, StoreDirectory stores, FxRateTable fx, IngestOptions options)
    {
        _catalog = catalog;
        _compiled = new CompiledCatalog(catalog);
        _reportingCurrency = System.Text.Encoding.UTF8.GetBytes(options.ReportingCurrency);
        _stores = stores;
        _fx = fx;
        _options = options;
    }

    [ThreadStatic]
    private static List<string>? t_errors;

    /// <summary>Normalizes <paramref name="e"/> into <paramref name="batch"/>, or records its rejection there.</summary>
    /// <param name="requirePresence">
    /// false for mapped Segment messages: the catalog's required fields they lack are left absent
    /// (reported by the null-rate checks) instead of refusing the event; a value of the wrong type
    /// is still refused.
    /// </param>
    public void Normalize(JsonElement e, int index, AppendBatch batch, Utf8JsonWriter writer, BatchStores batchStores, bool requirePresence = true)
    {
        // Minimisation first (docs/privacy.md): the event as it may be stored, quarantine included.
        if (CollectionMinimisation.Apply(e, _options) is { } minimised)
        {
            using (minimised)
            {
                NormalizeAsStored(minimised.RootElement, index, batch, writer, batchStores, requirePresence);
            }
            return;
        }
        NormalizeAsStored(e, index, batch, writer, batchStores, requirePresence);
    }

    private void NormalizeAsStored(JsonElement e, int index, AppendBatch batch, Utf8JsonWriter writer, BatchStores batchStores, bool requirePresence)
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
                CheckCatalog(members, rule, errors, requirePresence);
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
            batch.AddEvent(index, EventIdIndex.HashJsonString(members.EventId), envelope.TimestampMs, offset, store, default);
        }
        catch (InvalidOperationException ex)
        {
            // Invalid UTF-16 escapes (lone surrogates) surface here when a string is read.
            Reject(batch, index, eventId, RejectReason.Malformed, [$"event: has an invalid string ({ex.Message})"], e);
        }
    }

    private Envelope ReadEnvelope(in Members m, List<string> errors, long receivedAtMs)
    {
        CheckRequiredString(m.EventId, "event_id", EventLimits.EventIdLength, errors);
        var envelope = new Envelope { EventType = RequiredString(m.EventType, "event_type", EventLimits.EventTypeLength, errors) };
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
            && timestamp.Year is >= EventLimits.FirstYear and <= EventLimits.LastYear)
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
                    else if (member.Value.ValueKind == JsonValueKind.String && FieldValidator.LongerThan(member.Value, EventLimits.FreeTextLength))
                    {
                        errors.Add($"context.{member.Name}: must be at most {EventLimits.FreeTextLength} characters");
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

    private static void CheckCatalog(in Members m, EventTypeRule rule, List<string> errors, bool requirePresence)
    {
        foreach (var field in requirePresence ? rule.RequiredEnvelope : [])
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
                FieldValidator.ValidateObject(context, rule.Context, "context", errors, requirePresence);
            }
            else if (requirePresence)
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
            foreach (var field in rule.Properties.Where(f => f.Required && requirePresence))
            {
                errors.Add($"properties.{field.Name}: is required for {rule.Type}");
            }
            return;
        }
        FieldValidator.ValidateObject(properties, rule.Properties, "properties", errors, requirePresence);
        foreach (var when in requirePresence ? rule.When : [])
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
        return timestamp.Year is >= EventLimits.FirstYear and <= EventLimits.LastYear;
    }

    /// <summary>An id echoed in a rejection: at most the 128 characters a valid id may have.</summary>
    internal static string? ClipId(string? id) => id is { Length: > EventLimits.EventIdLength } ? id[..EventLimits.EventIdLength] : id;

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
