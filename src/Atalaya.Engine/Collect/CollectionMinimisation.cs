using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Atalaya.Engine.Collect;

/// <summary>
/// Minimisation before an event is stored, on the collector's general path (the single pass truncates
/// the IP itself and sends everything else here): the IP truncated (<see cref="IpTruncation"/>), and
/// with <c>context.consent.analytics</c> false the personal fields dropped — IP, user agent (after the
/// device, OS and browser are derived from it), traits, e-mail or phone values, URL query strings —
/// while the event is kept for the KPIs (docs/privacy.md).
/// </summary>
internal static class CollectionMinimisation
{
    /// <summary>The event to store instead of <paramref name="e"/>, or null when it needs no change.</summary>
    public static JsonDocument? Apply(JsonElement e, IngestOptions options)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("context", out var context) || context.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var noConsent = context.TryGetProperty("consent", out var consent) && consent.ValueKind == JsonValueKind.Object
            && consent.TryGetProperty("analytics", out var analytics) && analytics.ValueKind == JsonValueKind.False;
        if (noConsent && WithoutPersonalFields(e) is { } minimised)
        {
            return minimised;
        }
        return TruncateIps(JsonMarshal.GetRawUtf8Value(e), options) is { } rewritten ? JsonDocument.Parse(rewritten) : null;
    }

    private static JsonDocument? WithoutPersonalFields(JsonElement e)
    {
        JsonObject node;
        try
        {
            node = JsonNode.Parse(e.GetRawText())!.AsObject();
        }
        catch (ArgumentException)
        {
            return null; // a repeated member: only its IPs are truncated, and validation says the rest
        }
        if (node["context"] is not JsonObject c)
        {
            return null;
        }
        if (c["user_agent"] is JsonValue ua && ua.TryGetValue<string>(out var userAgent))
        {
            var info = UserAgentParser.Parse(userAgent);
            foreach (var (name, value) in new[] { ("device_type", info.DeviceType), ("os", info.Os), ("browser", info.Browser) })
            {
                if (c[name] is null && value != "unknown")
                {
                    c[name] = value;
                }
            }
        }
        PersonalFields.DropPersonalFields(node);
        return JsonDocument.Parse(node.ToJsonString());
    }

    /// <summary>
    /// The event's bytes with every <c>context.ip</c> string truncated in place: the shorter address
    /// then spaces after the closing quote, so the single pass and this path store the same bytes.
    /// An address that does not parse (or would not fit) becomes null, which the stored form drops.
    /// Null when no address changes.
    /// </summary>
    internal static byte[]? TruncateIps(ReadOnlySpan<byte> raw, IngestOptions options)
    {
        byte[]? copy = null;
        var reader = new Utf8JsonReader(raw);
        var inContext = false;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }
            if (reader.CurrentDepth == 1)
            {
                inContext = reader.ValueTextEquals("context"u8);
                continue;
            }
            if (!inContext || reader.CurrentDepth != 2 || !reader.ValueTextEquals("ip"u8) || !reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                continue;
            }
            var start = (int)reader.TokenStartIndex;
            var length = reader.ValueSpan.Length + 2;
            if (length < 4)
            {
                continue; // "" or one character: no address, and no room for null
            }
            var text = reader.GetString()!;
            var truncated = IpTruncation.Truncate(text, options);
            if (truncated == text && !reader.ValueIsEscaped)
            {
                continue;
            }
            copy ??= raw.ToArray();
            var value = copy.AsSpan(start, length);
            value.Fill((byte)' ');
            var bytes = truncated is null ? null : System.Text.Encoding.UTF8.GetBytes(truncated);
            if (bytes is not null && bytes.Length + 2 <= length)
            {
                value[0] = (byte)'"';
                bytes.CopyTo(value[1..]);
                value[bytes.Length + 1] = (byte)'"';
            }
            else
            {
                "null"u8.CopyTo(value);
            }
        }
        return copy;
    }
}
