using System.Text.Json;

namespace Atalaya.Engine.Catalog;

/// <summary>
/// Checks JSON values against catalog <see cref="FieldRule"/>s. Every message starts with the
/// field's path (<c>properties.items[2].quantity</c>) and says the rule it broke, so a client
/// developer can fix the event from the message alone.
/// </summary>
internal static class FieldValidator
{
    public const int DefaultMaxStringLength = 2048;

    /// <param name="requirePresence">false: a required field may be absent (or an empty string or array); present values still follow their rules.</param>
    public static void ValidateObject(JsonElement value, IReadOnlyList<FieldRule> fields, string path, List<string> errors, bool requirePresence = true)
    {
        foreach (var field in fields)
        {
            var fieldPath = path.Length == 0 ? field.Name : $"{path}.{field.Name}";
            if (!value.TryGetProperty(field.Name, out var member) || member.ValueKind == JsonValueKind.Null)
            {
                if (field.Required && requirePresence)
                {
                    errors.Add($"{fieldPath}: is required");
                }
                continue;
            }
            Validate(member, field, fieldPath, errors, requirePresence);
        }
    }

    public static void Validate(JsonElement value, FieldRule rule, string path, List<string> errors, bool requirePresence = true)
    {
        switch (rule.Kind)
        {
            case FieldKind.String:
                if (value.ValueKind != JsonValueKind.String)
                {
                    errors.Add($"{path}: must be a string, got {Describe(value)}");
                    return;
                }
                var max = rule.MaxLength ?? DefaultMaxStringLength;
                if (rule.Required && requirePresence && value.ValueEquals(ReadOnlySpan<byte>.Empty))
                {
                    errors.Add($"{path}: must not be empty");
                }
                if (LongerThan(value, max))
                {
                    errors.Add($"{path}: must be at most {max} characters, got {value.GetString()!.Length}");
                }
                if (rule.AllowedValues is { } allowed && !IsOneOf(value, allowed))
                {
                    errors.Add($"{path}: must be one of {string.Join(", ", allowed)}, got \"{Clip(value.GetString()!)}\"");
                }
                break;
            case FieldKind.Currency or FieldKind.Country:
                var length = rule.Kind == FieldKind.Currency ? 3 : 2;
                if (value.ValueKind != JsonValueKind.String || !IsUpperCode(value.GetString()!, length))
                {
                    var what = rule.Kind == FieldKind.Currency ? "an ISO 4217 currency code like \"MXN\"" : "an ISO 3166 country code like \"MX\"";
                    errors.Add($"{path}: must be {what}, got {Describe(value)}");
                }
                break;
            case FieldKind.Integer:
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var integer))
                {
                    errors.Add($"{path}: must be an integer, got {Describe(value)}");
                }
                else if (rule.Min is { } minInt && integer < minInt)
                {
                    errors.Add($"{path}: must be at least {minInt}, got {integer}");
                }
                break;
            case FieldKind.Number or FieldKind.Money or FieldKind.Rate:
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var number))
                {
                    errors.Add($"{path}: must be a number{(rule.Kind == FieldKind.Number ? "" : " within ±7.9e28")}, got {Describe(value)}");
                }
                else if (rule.Kind == FieldKind.Money && number < 0)
                {
                    errors.Add($"{path}: must be an amount ≥ 0, got {number}");
                }
                else if (rule.Kind == FieldKind.Rate && number <= 0)
                {
                    errors.Add($"{path}: must be a rate > 0, got {number}");
                }
                else if (rule.Min is { } min && number < min)
                {
                    errors.Add($"{path}: must be at least {min}, got {number}");
                }
                break;
            case FieldKind.Boolean:
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    errors.Add($"{path}: must be true or false, got {Describe(value)}");
                }
                break;
            case FieldKind.Object:
                if (value.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{path}: must be an object, got {Describe(value)}");
                    return;
                }
                ValidateObject(value, rule.Fields, path, errors, requirePresence);
                break;
            case FieldKind.Array:
                if (value.ValueKind != JsonValueKind.Array)
                {
                    errors.Add($"{path}: must be an array, got {Describe(value)}");
                    return;
                }
                var count = value.GetArrayLength();
                if (rule.MinItems is { } minItems && count < minItems && (requirePresence || count > 0))
                {
                    errors.Add($"{path}: must have at least {minItems} item(s), got {count}");
                }
                if (rule.MaxItems is { } maxItems && count > maxItems)
                {
                    errors.Add($"{path}: must have at most {maxItems} items, got {count}");
                }
                if (rule.Items is { } itemRule)
                {
                    var i = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        Validate(item, itemRule, $"{path}[{i++}]", errors, requirePresence);
                        if (errors.Count > 20)
                        {
                            return;
                        }
                    }
                }
                break;
        }
    }

    /// <summary>
    /// Whether a JSON string has more than <paramref name="max"/> characters, decided from its
    /// UTF-8 bytes when it can be: the bytes between the quotes are never fewer than the
    /// characters, so a short raw value needs no decoding (the ingest hot path reads many).
    /// </summary>
    public static bool LongerThan(JsonElement value, int max) =>
        System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value).Length - 2 > max && value.GetString()!.Length > max;

    private static bool IsOneOf(JsonElement value, IReadOnlyList<string> allowed)
    {
        foreach (var candidate in allowed)
        {
            if (value.ValueEquals(candidate))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsUpperCode(string text, int length)
    {
        if (text.Length != length)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (c is < 'A' or > 'Z')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A short description of a JSON value for an error message.</summary>
    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"\"{Clip(value.GetString()!)}\"",
        JsonValueKind.Number => Clip(value.GetRawText()),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "nothing",
    };

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
