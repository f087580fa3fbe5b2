using System.Text.Json;
using Atalaya.Engine.Catalog;

namespace Atalaya.Engine.Collect;

/// <summary>
/// The single pass: one forward read of an event with <see cref="Utf8JsonReader"/> that checks the
/// envelope, the context and the catalog rules as the tokens go by, then writes the stored form
/// from byte offsets into the request, with no document and no per-event allocation. It decides
/// only "valid, and the stored form is this": whenever it meets anything it does not settle by
/// itself (a rule broken, an escaped name or value it would have to decode, a duplicate envelope
/// member, nulls in the context, extra top-level members, store_created, …) it gives up on the
/// event, and the event goes through the <c>JsonDocument</c> path (<c>Normalize(JsonElement, …)</c>),
/// which is the specification: same checks, same messages, same stored bytes. So the single pass
/// must never accept an event that path rejects, nor write other bytes than it would.
/// </summary>
public sealed partial class EventNormalizer
{
    /// <summary>
    /// Normalizes the event at the reader's current token (inside <paramref name="json"/>, which the
    /// reader reads from its start) and leaves the reader on the event's last token. With
    /// <paramref name="wholeInput"/> the event must be all of <paramref name="json"/>: trailing data
    /// throws <see cref="JsonException"/> before anything is written.
    /// </summary>
    internal void Normalize(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json, int index, BatchTarget target, bool wholeInput)
    {
        var start = (int)reader.TokenStartIndex;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            if (reader.TokenType is JsonTokenType.StartArray)
            {
                reader.Skip();
            }
            EnsureEnd(ref reader, wholeInput);
            NormalizeSlow(json[start..(int)reader.BytesConsumed], index, target);
            return;
        }
        var depth = reader.CurrentDepth;
        var scan = new EventScan { Start = start };
        var fast = TryScan(ref reader, json.Span, target.Batch.ReceivedAtMs, ref scan);
        while (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != depth)
        {
            reader.Read();
        }
        scan.End = (int)reader.BytesConsumed;
        EnsureEnd(ref reader, wholeInput);
        if (!fast || scan.End - scan.Start > _options.MaxEventBytes || !TryWrite(json.Span, ref scan, index, target))
        {
            NormalizeSlow(json[scan.Start..scan.End], index, target);
        }
    }

    private static void EnsureEnd(ref Utf8JsonReader reader, bool wholeInput)
    {
        // Past a complete value the reader either ends or throws on what follows.
        if (wholeInput && reader.Read())
        {
            throw new JsonException("Unexpected data after the event.");
        }
    }

    private void NormalizeSlow(ReadOnlyMemory<byte> eventJson, int index, BatchTarget target)
    {
        using var document = JsonDocument.Parse(eventJson, new JsonDocumentOptions { MaxDepth = _options.MaxJsonDepth });
        Normalize(document.RootElement, index, target.Batch, target.Writer, target.Stores);
    }

    /// <summary>Where the event's parts are in the request (offsets of raw JSON, quotes included), and what was decided.</summary>
    private struct EventScan
    {
        public int Start, End;
        public int EventId, EventIdLength, EventType, EventTypeLength;
        public long TimestampMs, OriginalTimestampMs;
        public bool Clamped;
        public Token SessionId, UserId, AnonymousId, UserAgent, StoreId, Currency;
        public int Context, ContextLength, Properties, PropertiesLength;
        public ContextFields ContextPresent;
        public CompiledType? Type;
        public bool HasFxRate;
        public decimal FxRate;
    }

    /// <summary>A scalar's raw JSON (quotes included); <see cref="Length"/> 0 when absent or null.</summary>
    private struct Token
    {
        public int Start, Length;
        public bool Escaped;

        public readonly bool Present => Length > 0;

        /// <summary>The bytes between the quotes of a string token.</summary>
        public readonly ReadOnlySpan<byte> Text(ReadOnlySpan<byte> json) => json.Slice(Start + 1, Length - 2);

        public static Token Of(ref Utf8JsonReader reader, int offset) => new()
        {
            Start = offset + (int)reader.TokenStartIndex,
            Length = reader.ValueSpan.Length + (reader.TokenType == JsonTokenType.String ? 2 : 0),
            Escaped = reader.ValueIsEscaped,
        };
    }

    private enum EnvelopeMember
    {
        EventId,
        EventType,
        Timestamp,
        SessionId,
        UserId,
        AnonymousId,
        Context,
        Properties,
        Extra,
    }

    private static EnvelopeMember EnvelopeMemberOf(ReadOnlySpan<byte> name) => name.Length switch
    {
        7 when name.SequenceEqual("user_id"u8) => EnvelopeMember.UserId,
        7 when name.SequenceEqual("context"u8) => EnvelopeMember.Context,
        8 when name.SequenceEqual("event_id"u8) => EnvelopeMember.EventId,
        9 when name.SequenceEqual("timestamp"u8) => EnvelopeMember.Timestamp,
        10 when name.SequenceEqual("event_type"u8) => EnvelopeMember.EventType,
        10 when name.SequenceEqual("session_id"u8) => EnvelopeMember.SessionId,
        10 when name.SequenceEqual("properties"u8) => EnvelopeMember.Properties,
        12 when name.SequenceEqual("anonymous_id"u8) => EnvelopeMember.AnonymousId,
        _ => EnvelopeMember.Extra,
    };

    private bool TryScan(ref Utf8JsonReader r, ReadOnlySpan<byte> json, long receivedAtMs, ref EventScan s)
    {
        var seen = 0;
        int deferredContext = -1, deferredContextLength = 0, deferredProperties = -1, deferredPropertiesLength = 0;
        s.Context = s.Properties = -1;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var member = r.ValueIsEscaped ? EnvelopeMember.Extra : EnvelopeMemberOf(r.ValueSpan);
            if (member == EnvelopeMember.Extra || (seen & (1 << (int)member)) != 0)
            {
                return false;
            }
            seen |= 1 << (int)member;
            r.Read();
            switch (member)
            {
                case EnvelopeMember.EventId:
                    // Hashed as sent for dedupe: an escaped id needs decoding first, left to the slow path.
                    if (r.TokenType != JsonTokenType.String || r.ValueIsEscaped || r.ValueSpan.Length is 0 or > 128)
                    {
                        return false;
                    }
                    s.EventId = (int)r.TokenStartIndex + 1;
                    s.EventIdLength = r.ValueSpan.Length;
                    break;
                case EnvelopeMember.EventType:
                    if (r.TokenType != JsonTokenType.String || r.ValueIsEscaped || r.ValueSpan.Length > 64 || !IsSnakeCase(r.ValueSpan))
                    {
                        return false;
                    }
                    s.EventType = (int)r.TokenStartIndex + 1;
                    s.EventTypeLength = r.ValueSpan.Length;
                    s.Type = _compiled.Find(r.ValueSpan) ?? _compiled.Custom;
                    if (!s.Type.FastPath)
                    {
                        return false;
                    }
                    break;
                case EnvelopeMember.Timestamp:
                    if (r.TokenType != JsonTokenType.String || r.ValueIsEscaped || r.ValueSpan.Length is < 20 or > 40
                        || !HasOffset(r.ValueSpan) || !r.TryGetDateTimeOffset(out var ts) || ts.Year is < 2000 or > 2100)
                    {
                        return false;
                    }
                    s.OriginalTimestampMs = s.TimestampMs = ts.ToUnixTimeMilliseconds();
                    if (s.TimestampMs > receivedAtMs + (long)_options.MaxFutureSkew.TotalMilliseconds)
                    {
                        s.TimestampMs = receivedAtMs;
                        s.Clamped = true;
                    }
                    break;
                case EnvelopeMember.SessionId or EnvelopeMember.UserId or EnvelopeMember.AnonymousId:
                    if (r.TokenType == JsonTokenType.Null)
                    {
                        break;
                    }
                    if (r.TokenType != JsonTokenType.String || r.ValueSpan.Length > 256)
                    {
                        return false;
                    }
                    var id = Token.Of(ref r, 0);
                    if (member == EnvelopeMember.SessionId)
                    {
                        s.SessionId = id;
                    }
                    else if (member == EnvelopeMember.UserId)
                    {
                        s.UserId = id;
                    }
                    else
                    {
                        s.AnonymousId = id;
                    }
                    break;
                case EnvelopeMember.Context or EnvelopeMember.Properties:
                    if (r.TokenType == JsonTokenType.Null)
                    {
                        break;
                    }
                    if (r.TokenType != JsonTokenType.StartObject)
                    {
                        return false;
                    }
                    if (s.Type is null)
                    {
                        // The rules depend on the event type, which comes later: read this member again then.
                        var at = (int)r.TokenStartIndex;
                        r.Skip();
                        if (member == EnvelopeMember.Context)
                        {
                            (deferredContext, deferredContextLength) = (at, (int)r.BytesConsumed - at);
                        }
                        else
                        {
                            (deferredProperties, deferredPropertiesLength) = (at, (int)r.BytesConsumed - at);
                        }
                    }
                    else if (!(member == EnvelopeMember.Context ? ScanContext(ref r, 0, ref s) : ScanProperties(ref r, json, 0, ref s)))
                    {
                        return false;
                    }
                    break;
            }
        }
        const int required = (1 << (int)EnvelopeMember.EventId) | (1 << (int)EnvelopeMember.EventType) | (1 << (int)EnvelopeMember.Timestamp);
        if ((seen & required) != required)
        {
            return false;
        }
        if (deferredContext >= 0)
        {
            var reader = new Utf8JsonReader(json.Slice(deferredContext, deferredContextLength));
            if (!reader.Read() || !ScanContext(ref reader, deferredContext, ref s))
            {
                return false;
            }
        }
        if (deferredProperties >= 0)
        {
            var reader = new Utf8JsonReader(json.Slice(deferredProperties, deferredPropertiesLength));
            if (!reader.Read() || !ScanProperties(ref reader, json, deferredProperties, ref s))
            {
                return false;
            }
        }
        var type = s.Type!;
        if ((s.Context < 0 && type.Context is { RequiredMask: not 0 }) || (s.Properties < 0 && type.Properties.RequiredMask != 0))
        {
            return false;
        }
        foreach (var field in type.RequiredEnvelope)
        {
            var id = field switch { CompiledType.SessionId => s.SessionId, CompiledType.UserId => s.UserId, _ => s.AnonymousId };
            if (!id.Present || id.Escaped || id.Length == 2)
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsSnakeCase(ReadOnlySpan<byte> text)
    {
        if (text.Length == 0 || text[0] is < (byte)'a' or > (byte)'z')
        {
            return false;
        }
        foreach (var c in text)
        {
            if (c is not ((>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_'))
            {
                return false;
            }
        }
        return true;
    }

    private enum ContextMember
    {
        Other,
        /// <summary>The free-text members: ip, user_agent, referrer, page_url, … (a string of at most 4096 characters).</summary>
        Text,
        UserAgent,
        Os,
        Browser,
        Hub,
        Zone,
        Category,
        DeviceType,
        Platform,
        Country,
    }

    private static ContextMember ContextMemberOf(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when name.SequenceEqual("ip"u8) => ContextMember.Text,
        2 when name.SequenceEqual("os"u8) => ContextMember.Os,
        3 when name.SequenceEqual("hub"u8) => ContextMember.Hub,
        4 when name.SequenceEqual("zone"u8) => ContextMember.Zone,
        6 when name.SequenceEqual("source"u8) => ContextMember.Text,
        6 when name.SequenceEqual("app_id"u8) => ContextMember.Text,
        6 when name.SequenceEqual("locale"u8) => ContextMember.Text,
        7 when name.SequenceEqual("browser"u8) => ContextMember.Browser,
        7 when name.SequenceEqual("country"u8) => ContextMember.Country,
        8 when name.SequenceEqual("referrer"u8) => ContextMember.Text,
        8 when name.SequenceEqual("page_url"u8) => ContextMember.Text,
        8 when name.SequenceEqual("category"u8) => ContextMember.Category,
        8 when name.SequenceEqual("timezone"u8) => ContextMember.Text,
        8 when name.SequenceEqual("platform"u8) => ContextMember.Platform,
        10 when name.SequenceEqual("user_agent"u8) => ContextMember.UserAgent,
        11 when name.SequenceEqual("device_type"u8) => ContextMember.DeviceType,
        _ => ContextMember.Other,
    };

    private static ContextFields FieldOf(ContextMember member) => member switch
    {
        ContextMember.UserAgent => ContextFields.UserAgent,
        ContextMember.DeviceType => ContextFields.DeviceType,
        ContextMember.Os => ContextFields.Os,
        ContextMember.Browser => ContextFields.Browser,
        ContextMember.Country => ContextFields.Country,
        ContextMember.Hub => ContextFields.Hub,
        ContextMember.Zone => ContextFields.Zone,
        ContextMember.Category => ContextFields.Category,
        _ => ContextFields.None,
    };

    /// <summary>The context: the hub's own checks (CheckContext), the type's context rules, and what enrichment needs.</summary>
    private static bool ScanContext(ref Utf8JsonReader r, int offset, ref EventScan s)
    {
        s.Context = offset + (int)r.TokenStartIndex;
        var rules = s.Type!.Context;
        ulong seen = 0;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueIsEscaped)
            {
                return false;
            }
            var member = ContextMemberOf(r.ValueSpan);
            var rule = rules?.IndexOf(r.ValueSpan) ?? -1;
            r.Read();
            // A null is dropped from the stored context: the slow path rewrites it member by member.
            if (r.TokenType == JsonTokenType.Null)
            {
                return false;
            }
            var valid = member switch
            {
                ContextMember.Other => true,
                ContextMember.DeviceType => IsOneOf(ref r, DeviceTypesUtf8),
                ContextMember.Platform => IsOneOf(ref r, PlatformsUtf8),
                ContextMember.Country => IsUpperCode(ref r, 2),
                _ => r.TokenType == JsonTokenType.String && r.ValueSpan.Length <= 4096,
            };
            if (!valid)
            {
                return false;
            }
            s.ContextPresent |= FieldOf(member);
            if (member == ContextMember.UserAgent)
            {
                s.UserAgent = Token.Of(ref r, offset);
            }
            if (rule >= 0)
            {
                seen |= 1UL << rule;
                if (!IsValid(ref r, rules!.Fields[rule]!))
                {
                    return false;
                }
            }
            else if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                r.Skip();
            }
        }
        s.ContextLength = offset + (int)r.BytesConsumed - s.Context;
        return rules is null || (rules.RequiredMask & ~seen) == 0;
    }

    /// <summary>The last occurrence of a tracked property (the one <c>TryGetProperty</c> finds).</summary>
    private struct Occurrence
    {
        public JsonTokenType Type;
        public Token Token;
        public int End;
        public bool HasDecimal;
        public decimal Decimal;
    }

    /// <summary>The properties: the type's rules, its conditional requirements, and what the stored form reads.</summary>
    private static bool ScanProperties(ref Utf8JsonReader r, ReadOnlySpan<byte> json, int offset, ref EventScan s)
    {
        s.Properties = offset + (int)r.TokenStartIndex;
        var type = s.Type!;
        var fields = type.Properties;
        Span<Occurrence> found = stackalloc Occurrence[fields.Count];
        ulong seen = 0, nulls = 0;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueIsEscaped)
            {
                return false;
            }
            var i = fields.IndexOf(r.ValueSpan);
            r.Read();
            if (i < 0)
            {
                if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    r.Skip();
                }
                continue;
            }
            var bit = 1UL << i;
            seen |= bit;
            ref var o = ref found[i];
            o = new Occurrence { Type = r.TokenType, Token = Token.Of(ref r, offset) };
            if (r.TokenType == JsonTokenType.Null)
            {
                nulls |= bit;
                continue;
            }
            nulls &= ~bit;
            if (i == type.FxRate && r.TokenType == JsonTokenType.Number)
            {
                o.HasDecimal = r.TryGetDecimal(out o.Decimal);
            }
            if (fields.Fields[i] is { } field)
            {
                if (!IsValid(ref r, field))
                {
                    return false;
                }
            }
            else if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                r.Skip();
            }
            o.End = offset + (int)r.BytesConsumed;
        }
        s.PropertiesLength = offset + (int)r.BytesConsumed - s.Properties;
        var present = seen & ~nulls;
        if ((fields.RequiredMask & ~present) != 0)
        {
            return false;
        }
        foreach (var when in type.When)
        {
            ref var o = ref found[when.Field];
            if ((present & (1UL << when.Field)) == 0 || o.Type != JsonTokenType.String)
            {
                continue;
            }
            if (o.Token.Escaped)
            {
                return false;
            }
            if (!IsAnyOf(o.Token.Text(json), when.Values))
            {
                continue;
            }
            foreach (var required in when.Require)
            {
                if ((present & (1UL << required)) == 0)
                {
                    return false;
                }
            }
        }
        if ((present & (1UL << type.StoreId)) != 0 && found[type.StoreId].Type == JsonTokenType.String)
        {
            s.StoreId = found[type.StoreId].Token;
        }
        if (type.Rule is not { Monetary: true })
        {
            return true;
        }
        if (!type.FxInSnapshot)
        {
            return TakeFx(json, present, found, type.Currency, type.FxRate, ref s);
        }
        // The rate of an order's final status is the one frozen in its snapshot.
        if ((present & (1UL << type.Snapshot)) == 0 || found[type.Snapshot].Type != JsonTokenType.StartObject)
        {
            return true;
        }
        var snapshot = found[type.Snapshot];
        return ScanFxOwner(json, snapshot.Token.Start, snapshot.End - snapshot.Token.Start, ref s);
    }

    private static bool TakeFx(ReadOnlySpan<byte> json, ulong present, ReadOnlySpan<Occurrence> found, int currency, int fxRate, ref EventScan s)
    {
        if ((present & (1UL << currency)) == 0 || found[currency].Type != JsonTokenType.String)
        {
            return true;
        }
        s.Currency = found[currency].Token;
        if (!IsPlainCode(s.Currency, json))
        {
            return false;
        }
        if ((present & (1UL << fxRate)) != 0 && found[fxRate].Type == JsonTokenType.Number)
        {
            // A number beyond decimal's range: the slow path decides what that means.
            if (!found[fxRate].HasDecimal)
            {
                return false;
            }
            s.HasFxRate = true;
            s.FxRate = found[fxRate].Decimal;
        }
        return true;
    }

    /// <summary>Finds the currency and frozen rate of an object (the last of each, as <c>TryGetProperty</c> does).</summary>
    private static bool ScanFxOwner(ReadOnlySpan<byte> json, int start, int length, ref EventScan s)
    {
        var r = new Utf8JsonReader(json.Slice(start, length));
        r.Read();
        Span<Occurrence> found = stackalloc Occurrence[2];
        ulong present = 0;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueIsEscaped)
            {
                return false;
            }
            var i = r.ValueSpan.SequenceEqual("currency"u8) ? 0 : r.ValueSpan.SequenceEqual("fx_rate_to_reporting"u8) ? 1 : -1;
            r.Read();
            if (i >= 0)
            {
                found[i] = new Occurrence { Type = r.TokenType, Token = Token.Of(ref r, start) };
                present = r.TokenType == JsonTokenType.Null ? present & ~(1UL << i) : present | (1UL << i);
                if (i == 1 && r.TokenType == JsonTokenType.Number)
                {
                    found[i].HasDecimal = r.TryGetDecimal(out found[i].Decimal);
                }
            }
            if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                r.Skip();
            }
        }
        return TakeFx(json, present, found, 0, 1, ref s);
    }

    /// <summary>A currency the stored form can copy as it is: ASCII letters and digits only.</summary>
    private static bool IsPlainCode(Token token, ReadOnlySpan<byte> json)
    {
        if (token.Escaped || token.Length > 34)
        {
            return false;
        }
        foreach (var c in token.Text(json))
        {
            if (!char.IsAsciiLetterOrDigit((char)c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Whether the value at the reader breaks no rule of <paramref name="field"/> (what
    /// <see cref="FieldValidator.Validate"/> would find nothing wrong with). Leaves the reader on the
    /// value's last token. False also when deciding would need the decoded text.
    /// </summary>
    private static bool IsValid(ref Utf8JsonReader r, CompiledField field)
    {
        var rule = field.Rule;
        switch (rule.Kind)
        {
            case FieldKind.String:
                if (r.TokenType != JsonTokenType.String || (rule.Required && r.ValueSpan.Length == 0)
                    // Never fewer bytes than characters: within the limit in bytes is within it in characters.
                    || r.ValueSpan.Length > field.MaxLength)
                {
                    return false;
                }
                return field.Allowed is null || IsOneOf(ref r, field.Allowed);
            case FieldKind.Currency:
                return IsUpperCode(ref r, 3);
            case FieldKind.Country:
                return IsUpperCode(ref r, 2);
            case FieldKind.Integer:
                return r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var integer) && !(rule.Min is { } minInt && integer < minInt);
            case FieldKind.Number or FieldKind.Money or FieldKind.Rate:
                return r.TokenType == JsonTokenType.Number && r.TryGetDecimal(out var number)
                    && !(rule.Kind == FieldKind.Money && number < 0)
                    && !(rule.Kind == FieldKind.Rate && number <= 0)
                    && !(rule.Min is { } min && number < min);
            case FieldKind.Boolean:
                return r.TokenType is JsonTokenType.True or JsonTokenType.False;
            case FieldKind.Object:
                return r.TokenType == JsonTokenType.StartObject && IsValidObject(ref r, field.Fields!);
            case FieldKind.Array:
                if (r.TokenType != JsonTokenType.StartArray)
                {
                    return false;
                }
                var count = 0;
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                {
                    count++;
                    if (field.Items is { } items)
                    {
                        if (!IsValid(ref r, items))
                        {
                            return false;
                        }
                    }
                    else if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        r.Skip();
                    }
                }
                return !(rule.MinItems is { } minItems && count < minItems) && !(rule.MaxItems is { } maxItems && count > maxItems);
            default:
                return false;
        }
    }

    private static bool IsValidObject(ref Utf8JsonReader r, CompiledFields fields)
    {
        ulong seen = 0, nulls = 0;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueIsEscaped)
            {
                return false;
            }
            var i = fields.IndexOf(r.ValueSpan);
            r.Read();
            if (i < 0 || fields.Fields[i] is not { } field)
            {
                if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    r.Skip();
                }
                continue;
            }
            var bit = 1UL << i;
            seen |= bit;
            if (r.TokenType == JsonTokenType.Null)
            {
                nulls |= bit;
                continue;
            }
            nulls &= ~bit;
            if (!IsValid(ref r, field))
            {
                return false;
            }
        }
        return (fields.RequiredMask & ~(seen & ~nulls)) == 0;
    }

    private static bool IsOneOf(ref Utf8JsonReader r, byte[][] allowed) =>
        r.TokenType == JsonTokenType.String && !r.ValueIsEscaped && IsAnyOf(r.ValueSpan, allowed);

    private static bool IsAnyOf(ReadOnlySpan<byte> value, byte[][] allowed)
    {
        foreach (var candidate in allowed)
        {
            if (value.SequenceEqual(candidate))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsUpperCode(ref Utf8JsonReader r, int length)
    {
        if (r.TokenType != JsonTokenType.String || r.ValueIsEscaped || r.ValueSpan.Length != length)
        {
            return false;
        }
        foreach (var c in r.ValueSpan)
        {
            if (c is < (byte)'A' or > (byte)'Z')
            {
                return false;
            }
        }
        return true;
    }
}
