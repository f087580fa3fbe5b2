using System.Text.Json;
using Atalaya.Engine.Catalog;

namespace Atalaya.Engine.Collect;

// The catalog's field rules checked on the reader's current value, as a yes/no: "no" also when
// deciding would need the decoded text, which sends the event to the document path.
internal sealed partial class EventNormalizer
{
    /// <summary>
    /// Whether the value at the reader breaks no rule of <paramref name="field"/> (what
    /// <see cref="FieldValidator.Validate"/> would find nothing wrong with). Leaves the reader on the
    /// value's last token. False also when deciding would need the decoded text.
    /// </summary>
    /// <param name="requirePresence">As the document path's: false lets required fields be absent, empty strings or empty arrays.</param>
    private static bool IsValid(ref Utf8JsonReader r, CompiledField field, bool requirePresence)
    {
        var rule = field.Rule;
        switch (rule.Kind)
        {
            case FieldKind.String:
                if (r.TokenType != JsonTokenType.String || (rule.Required && requirePresence && r.ValueSpan.Length == 0)
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
                return r.TokenType == JsonTokenType.StartObject && IsValidObject(ref r, field.Fields!, requirePresence);
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
                        if (!IsValid(ref r, items, requirePresence))
                        {
                            return false;
                        }
                    }
                    else if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        r.Skip();
                    }
                }
                return !(rule.MinItems is { } minItems && count < minItems && (requirePresence || count > 0)) && !(rule.MaxItems is { } maxItems && count > maxItems);
            default:
                return false;
        }
    }

    private static bool IsValidObject(ref Utf8JsonReader r, CompiledFields fields, bool requirePresence)
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
            if (!IsValid(ref r, field, requirePresence))
            {
                return false;
            }
        }
        return !requirePresence || (fields.RequiredMask & ~(seen & ~nulls)) == 0;
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
