using System.Text.Json;

namespace Atalaya.Engine.Collect;

// The single pass over the context and the properties: the hub's own context checks, the type's
// rules, its conditional requirements, and the members the stored form reads (user agent, store,
// currency and frozen rate). See EventNormalizer.SinglePass.cs.
internal sealed partial class EventNormalizer
{
    private enum ContextMember
    {
        Other,
        /// <summary>The free-text members: ip, user_agent, referrer, page_url, … (a string of at most <see cref="EventLimits.FreeTextLength"/> characters).</summary>
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
        /// <summary>Free text like <see cref="Text"/>, and a dimension KPIs read.</summary>
        Source,
        AppId,
        /// <summary>Free text, stored truncated (<see cref="IngestOptions.IpV4PrefixBits"/>).</summary>
        Ip,
        /// <summary><c>context.consent</c>: an event that carries it takes the slow path, which honours it.</summary>
        Consent,
    }

    private static ContextMember ContextMemberOf(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when name.SequenceEqual("ip"u8) => ContextMember.Ip,
        7 when name.SequenceEqual("consent"u8) => ContextMember.Consent,
        2 when name.SequenceEqual("os"u8) => ContextMember.Os,
        3 when name.SequenceEqual("hub"u8) => ContextMember.Hub,
        4 when name.SequenceEqual("zone"u8) => ContextMember.Zone,
        6 when name.SequenceEqual("source"u8) => ContextMember.Source,
        6 when name.SequenceEqual("app_id"u8) => ContextMember.AppId,
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
        var dimensions = 0;
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
                ContextMember.Other or ContextMember.Consent => true,
                ContextMember.DeviceType => IsOneOf(ref r, DeviceTypesUtf8),
                ContextMember.Platform => IsOneOf(ref r, PlatformsUtf8),
                ContextMember.Country => IsUpperCode(ref r, 2),
                _ => r.TokenType == JsonTokenType.String && r.ValueSpan.Length <= EventLimits.FreeTextLength,
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
            else if (member is ContextMember.Consent || (member is ContextMember.Ip && s.Ip.Present))
            {
                // Consent, or a second ip, is left to the slow path's minimisation.
                s.Minimise = true;
            }
            else if (member == ContextMember.Ip)
            {
                s.Ip = Token.Of(ref r, offset);
            }
            else if (member is ContextMember.Country or ContextMember.Hub or ContextMember.Zone or ContextMember.Category
                or ContextMember.Source or ContextMember.Platform or ContextMember.AppId)
            {
                // The reader interns every occurrence: a repeated dimension is left to it.
                var bit = 1 << (int)member;
                s.FactsUnsure |= (dimensions & bit) != 0;
                dimensions |= bit;
                DimensionToken(ref s, member) = Token.Of(ref r, offset);
            }
            if (rule >= 0)
            {
                seen |= 1UL << rule;
                if (!IsValid(ref r, rules!.Fields[rule]!, !s.Mapped))
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
        return rules is null || s.Mapped || (rules.RequiredMask & ~seen) == 0;
    }

    /// <summary>The last occurrence of a tracked property (the one <c>TryGetProperty</c> finds).</summary>
    private struct Occurrence
    {
        public JsonTokenType Type;
        public Token Token;
        public int End;
        public bool HasDecimal;
        public decimal Decimal;
        public bool HasDouble;
        public double Double;
    }

    /// <summary>The properties: the type's rules, its conditional requirements, and what the stored form reads.</summary>
    private static bool ScanProperties(ref Utf8JsonReader r, ReadOnlySpan<byte> json, int offset, ref EventScan s)
    {
        s.Properties = offset + (int)r.TokenStartIndex;
        var type = s.Type!;
        var fields = type.Properties;
        Span<Occurrence> found = stackalloc Occurrence[fields.Count];
        ulong seen = 0, nulls = 0, repeated = 0;
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
            repeated |= seen & bit;
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
            if ((i == type.Total || i == type.Amount || i == type.QuantityAvailable) && r.TokenType == JsonTokenType.Number)
            {
                o.HasDouble = r.TryGetDouble(out o.Double);
            }
            if (fields.Fields[i] is { } field)
            {
                if (!IsValid(ref r, field, !s.Mapped))
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
        TakePropertyFacts(type, seen, repeated, found, ref s);
        var present = seen & ~nulls;
        if (!s.Mapped && (fields.RequiredMask & ~present) != 0)
        {
            return false;
        }
        // A mapped Segment message is held to its values only, as the document path holds it.
        foreach (var when in s.Mapped ? [] : type.When)
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
}
