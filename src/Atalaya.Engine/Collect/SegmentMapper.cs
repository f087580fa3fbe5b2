using System.Buffers;
using System.Text;
using System.Text.Json;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

/// <summary>
/// Maps one Segment message to a native event (docs/collector.md (Segment-compatible events)): messageId → event_id, the e-commerce
/// spec's event names and properties to the catalog's, page and screen → page_view, identify /
/// group / alias as events of those types, Segment context to native context, and clock skew
/// corrected as Segment does: timestamp + (receivedAt − sentAt). The result then goes through the
/// same validation as any native event.
/// </summary>
internal static class SegmentMapper
{
    private static readonly Dictionary<string, string> LibraryPlatforms = new(StringComparer.OrdinalIgnoreCase)
    {
        ["analytics.js"] = "web",
        ["analytics-next"] = "web",
        ["@segment/analytics-next"] = "web",
        ["RudderLabs JavaScript SDK"] = "web",
        ["analytics-ios"] = "ios",
        ["analytics-swift"] = "ios",
        ["rudder-ios-library"] = "ios",
        ["analytics-android"] = "android",
        ["analytics-kotlin"] = "android",
        ["com.rudderstack.android.sdk.core"] = "android",
    };

    /// <param name="Start">Where the native event is in the output the message was mapped into.</param>
    /// <param name="SessionUser">
    /// With <paramref name="SessionAnonymous"/>, set when the hub must derive the message's session
    /// (docs/collector.md, "Sessions"): a track, page or screen call without <c>context.sessionId</c>,
    /// of this userId and/or anonymousId. <paramref name="TimestampMs"/> is its skew-corrected time.
    /// </param>
    public readonly record struct Mapped(string? EventId, int Start, int Length, IReadOnlyList<string>? Errors,
        string? SessionUser = null, string? SessionAnonymous = null, long TimestampMs = 0)
    {
        public bool NeedsSession => Errors is null && (SessionUser is not null || SessionAnonymous is not null);
    }

    /// <summary>
    /// The native event <paramref name="native"/> with the derived session id added, written into
    /// <paramref name="scratch"/> (grown from the array pool as needed); returns its length.
    /// </summary>
    public static int WithSession(ReadOnlySpan<byte> native, string sessionId, ref byte[]? scratch)
    {
        var id = JsonEncodedText.Encode(sessionId).EncodedUtf8Bytes;
        // {"session_id":"…", followed by the mapped event without its opening brace.
        var length = 14 + id.Length + 2 + 1 + native.Length - 1;
        if (scratch is null || scratch.Length < length)
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
            scratch = ArrayPool<byte>.Shared.Rent(Math.Max(length, 4096));
        }
        var result = scratch.AsSpan();
        "{\"session_id\":\""u8.CopyTo(result);
        id.CopyTo(result[15..]);
        result[15 + id.Length] = (byte)'"';
        result[16 + id.Length] = (byte)',';
        native[1..].CopyTo(result[(17 + id.Length)..]);
        return length;
    }

    /// <summary>
    /// Maps <paramref name="message"/> into <paramref name="output"/> through <paramref name="writer"/>
    /// (reset onto it here): one buffer and one writer serve every message of a request.
    /// </summary>
    public static Mapped Map(JsonElement message, SegmentPayload payload, DateTimeOffset receivedAt, PooledBufferWriter output, Utf8JsonWriter writer)
    {
        writer.Reset(output);
        var start = output.WrittenCount;
        try
        {
            return MapObject(message, payload, receivedAt, output, writer, start);
        }
        catch (InvalidOperationException ex)
        {
            // A lone UTF-16 surrogate escape ("\ud800") has no string value; it surfaces when a
            // field the mapping reads is decoded. Refused with its reason, as /api/events refuses
            // such an event: a 5xx would make SDKs retry the whole batch for ever. What the writer
            // had written of the message is left unreferenced in the output.
            writer.Reset(output);
            return new Mapped(null, 0, 0, [$"message: has an invalid string ({ex.Message})"]);
        }
    }

    private static Mapped MapObject(JsonElement message, SegmentPayload payload, DateTimeOffset receivedAt, PooledBufferWriter output,
        Utf8JsonWriter writer, int start)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            return new Mapped(null, 0, 0, [$"message: must be a JSON object, got {Catalog.FieldValidator.Describe(message)}"]);
        }
        var messageId = EventNormalizer.ClipId(Text(message, "messageId"));
        var type = (payload.ImpliedType ?? Text(message, "type"))?.ToLowerInvariant();
        string eventType;
        switch (type)
        {
            case "track":
                var name = Text(message, "event");
                if (string.IsNullOrWhiteSpace(name))
                {
                    return new Mapped(messageId, 0, 0, ["event: a track call needs an event name"]);
                }
                eventType = SegmentSpec.EcommerceNames.TryGetValue(name, out var known) ? known : ToSnakeCase(name);
                break;
            case "page" or "screen":
                eventType = "page_view";
                break;
            case "identify" or "group" or "alias":
                eventType = type;
                break;
            default:
                return new Mapped(messageId, 0, 0, [$"type: must be one of track, page, screen, identify, group, alias; got {(type is null ? "nothing" : $"\"{type}\"")}"]);
        }

        string? sessionUser = null, sessionAnonymous = null;
        writer.WriteStartObject();
        writer.WriteString("event_id", messageId ?? ContentId(message));
        writer.WriteString("event_type", eventType);
        var timestampMs = WriteTimestamp(writer, message, payload, receivedAt);
        WriteId(writer, message, "userId", "user_id");
        WriteId(writer, message, "anonymousId", "anonymous_id");
        var context = MergedContext(message, payload);
        var sessionId = context is { } ctx ? TextOrNumber(ctx, "sessionId") : null;
        sessionId ??= message.TryGetProperty("properties", out var p0) && p0.ValueKind == JsonValueKind.Object ? TextOrNumber(p0, "session_id") : null;
        if (sessionId is not null)
        {
            writer.WriteString("session_id", sessionId);
        }
        else if (type is "track" or "page" or "screen")
        {
            // identify, group and alias are not visits: in a session they would make every
            // one-page visit of a person who logs in look like two events (never a bounce).
            sessionUser = TextOrNumber(message, "userId") is { Length: > 0 } userId ? userId : null;
            sessionAnonymous = TextOrNumber(message, "anonymousId") is { Length: > 0 } anonymousId ? anonymousId : null;
        }
        WriteContext(writer, context, message, type);
        WriteProperties(writer, message, context, type, eventType);
        writer.WriteStartObject("segment");
        writer.WriteString("type", type);
        if (type == "track")
        {
            writer.WriteString("event", Text(message, "event"));
        }
        if (messageId is null)
        {
            writer.WriteBoolean("generated_message_id", true);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.Flush();
        var length = output.WrittenCount - start;
        return timestampMs == long.MinValue
            ? new Mapped(messageId, start, length, null)
            : new Mapped(messageId, start, length, null, sessionUser, sessionAnonymous, timestampMs);
    }

    /// <summary>
    /// The event id of a message sent without <c>messageId</c>: a digest of the message as sent, so
    /// that a retry of it dedupes instead of being stored again (every SDK sets a messageId; this is
    /// for hand-made calls). Two messages alike to the byte, timestamp included, are one event.
    /// </summary>
    private static string ContentId(JsonElement message) =>
        "seg-" + Convert.ToHexStringLower(System.IO.Hashing.XxHash128.Hash(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(message)));

    /// <returns>The time written, in Unix ms; <see cref="long.MinValue"/> when it is left for validation to refuse.</returns>
    private static long WriteTimestamp(Utf8JsonWriter writer, JsonElement message, SegmentPayload payload, DateTimeOffset receivedAt)
    {
        foreach (var name in (ReadOnlySpan<string>)["timestamp", "originalTimestamp"])
        {
            if (message.TryGetProperty(name, out var sent) && sent.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                // A number (Unix time) or anything else but text: left as sent, so validation refuses
                // it with the same words as on /api/events instead of it silently becoming receive time.
                writer.WritePropertyName("timestamp");
                sent.WriteTo(writer);
                return long.MinValue;
            }
        }
        var timestampText = Text(message, "timestamp") ?? Text(message, "originalTimestamp");
        var sentAtText = Text(message, "sentAt") ?? payload.SentAt;
        if (timestampText is null)
        {
            writer.WriteString("timestamp", receivedAt.UtcDateTime);
            return receivedAt.ToUnixTimeMilliseconds();
        }
        if (!EventNormalizer.TryParseTimestamp(timestampText, out var timestamp))
        {
            // Left as sent: validation names the field and the expected format.
            writer.WriteString("timestamp", timestampText);
            return long.MinValue;
        }
        if (sentAtText is not null && EventNormalizer.TryParseTimestamp(sentAtText, out var sentAt))
        {
            timestamp += receivedAt - sentAt;
        }
        writer.WriteString("timestamp", timestamp.UtcDateTime);
        return timestamp.ToUnixTimeMilliseconds();
    }

    private static void WriteId(Utf8JsonWriter writer, JsonElement message, string from, string to)
    {
        if (TextOrNumber(message, from) is { Length: > 0 } id)
        {
            writer.WriteString(to, id);
        }
    }

    private static JsonElement? MergedContext(JsonElement message, SegmentPayload payload) =>
        message.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object ? c : payload.BatchContext;

    private static void WriteContext(Utf8JsonWriter writer, JsonElement? context, JsonElement message, string type)
    {
        writer.WriteStartObject("context");
        string? pageUrl = null;
        if (type == "page" && message.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object)
        {
            pageUrl = Text(props, "url");
        }
        if (context is { } c)
        {
            Copy(writer, c, "ip", "ip");
            Copy(writer, c, "userAgent", "user_agent");
            Copy(writer, c, "locale", "locale");
            Copy(writer, c, "timezone", "timezone");
            if (c.TryGetProperty("page", out var page) && page.ValueKind == JsonValueKind.Object)
            {
                pageUrl ??= Text(page, "url");
                Copy(writer, page, "referrer", "referrer");
            }
            var source = c.TryGetProperty("campaign", out var campaign) && campaign.ValueKind == JsonValueKind.Object
                ? Text(campaign, "source") : null;
            source ??= Text(c, "source");
            if (source is not null)
            {
                writer.WriteString("source", source);
            }
            var app = c.TryGetProperty("app", out var a) && a.ValueKind == JsonValueKind.Object
                ? Text(a, "namespace") ?? Text(a, "name") : null;
            app ??= Text(c, "app_id");
            if (app is not null)
            {
                writer.WriteString("app_id", app);
            }
            var platform = Text(c, "platform");
            if (platform is null && c.TryGetProperty("library", out var library) && library.ValueKind == JsonValueKind.Object
                && Text(library, "name") is { } libraryName)
            {
                platform = LibraryPlatforms.TryGetValue(libraryName, out var p) ? p : libraryName.Contains("node", StringComparison.OrdinalIgnoreCase)
                    || libraryName.Contains("python", StringComparison.OrdinalIgnoreCase) || libraryName.Contains("java", StringComparison.OrdinalIgnoreCase)
                    || libraryName.Contains("go", StringComparison.OrdinalIgnoreCase) || libraryName.Contains("ruby", StringComparison.OrdinalIgnoreCase)
                    ? "server" : null;
            }
            if (platform is not null)
            {
                writer.WriteString("platform", platform);
            }
            var country = Text(c, "country");
            if (country is null && c.TryGetProperty("location", out var location) && location.ValueKind == JsonValueKind.Object)
            {
                country = Text(location, "country");
            }
            if (country is { Length: 2 } && char.IsAsciiLetterUpper(country[0]) && char.IsAsciiLetterUpper(country[1]))
            {
                writer.WriteString("country", country);
            }
            foreach (var native in (ReadOnlySpan<string>)["hub", "zone", "device_type", "os", "browser"])
            {
                Copy(writer, c, native, native);
            }
            // Consent as Segment's consent management sends it (context.consent.categoryPreferences)
            // or as the native API takes it ({"analytics": false}): the analytics category refused
            // keeps the event for the KPIs without its personal fields, as on /api/events.
            if (AnalyticsConsent(c) is { } analytics)
            {
                writer.WriteStartObject("consent");
                writer.WriteBoolean("analytics", analytics);
                writer.WriteEndObject();
            }
        }
        if (pageUrl is null && type == "screen")
        {
            // Screens have no URL; a stable pseudo-URL keeps them page views with a path to group by.
            pageUrl = "screen://" + (Text(message, "name") ?? "unnamed");
        }
        if (pageUrl is not null)
        {
            writer.WriteString("page_url", pageUrl);
        }
        writer.WriteEndObject();
    }

    /// <summary>The analytics consent a Segment context states, if any (a category named "analytics" in any case).</summary>
    private static bool? AnalyticsConsent(JsonElement context)
    {
        if (!context.TryGetProperty("consent", out var consent) || consent.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var categories = consent.TryGetProperty("categoryPreferences", out var preferences) && preferences.ValueKind == JsonValueKind.Object
            ? preferences : consent;
        foreach (var category in categories.EnumerateObject())
        {
            if (category.NameEquals("analytics") || string.Equals(category.Name, "analytics", StringComparison.OrdinalIgnoreCase))
            {
                return category.Value.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => null,
                };
            }
        }
        return null;
    }

    private static void WriteProperties(Utf8JsonWriter writer, JsonElement message, JsonElement? context, string type, string eventType)
    {
        writer.WriteStartObject("properties");
        var hasProperties = message.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object;
        if (hasProperties)
        {
            foreach (var member in properties.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "products":
                        writer.WritePropertyName("items");
                        member.Value.WriteTo(writer);
                        break;
                    case "shipping" when !properties.TryGetProperty("delivery_fee", out _):
                        writer.WritePropertyName("delivery_fee");
                        member.Value.WriteTo(writer);
                        break;
                    case "currency" when SegmentSpec.TryUpperCurrency(member.Value, out var code):
                        writer.WriteString("currency", code);
                        break;
                    default:
                        member.WriteTo(writer);
                        break;
                }
            }
            if (eventType == "product_viewed")
            {
                Rename(writer, properties, "name", "product_name");
                Rename(writer, properties, "price", "product_price");
                Rename(writer, properties, "category", "product_category");
            }
        }
        if (type == "track")
        {
            SegmentSpec.WriteDerived(writer, properties, eventType);
        }
        if (type == "page" || type == "screen")
        {
            if (Text(message, "name") is { } pageName && !(hasProperties && properties.TryGetProperty("name", out _)))
            {
                writer.WriteString("name", pageName);
            }
        }
        if (type is "identify" or "group" && !(hasProperties && properties.TryGetProperty("traits", out _)))
        {
            WriteTraits(writer, message, context);
        }
        if (type == "group" && TextOrNumber(message, "groupId") is { } groupId)
        {
            writer.WriteString("group_id", groupId);
        }
        if (type == "alias" && TextOrNumber(message, "previousId") is { } previousId)
        {
            writer.WriteString("previous_id", previousId);
        }
        writer.WriteEndObject();
    }

    /// <summary>
    /// The call's traits: the message's <c>traits</c> (Segment) merged over <c>context.traits</c>
    /// (where RudderStack's browser SDK puts them); a name in both keeps the message's value.
    /// </summary>
    private static void WriteTraits(Utf8JsonWriter writer, JsonElement message, JsonElement? context)
    {
        var own = message.TryGetProperty("traits", out var t) && t.ValueKind == JsonValueKind.Object ? t : (JsonElement?)null;
        var fromContext = context is { } c && c.TryGetProperty("traits", out var ct) && ct.ValueKind == JsonValueKind.Object ? ct : (JsonElement?)null;
        if (own is null && fromContext is null)
        {
            return;
        }
        writer.WriteStartObject("traits");
        if (own is { } o)
        {
            foreach (var member in o.EnumerateObject())
            {
                member.WriteTo(writer);
            }
        }
        if (fromContext is { } f)
        {
            foreach (var member in f.EnumerateObject())
            {
                if (own is not { } mine || !mine.TryGetProperty(member.Name, out _))
                {
                    member.WriteTo(writer);
                }
            }
        }
        writer.WriteEndObject();
    }

    private static void Rename(Utf8JsonWriter writer, JsonElement properties, string from, string to)
    {
        if (properties.TryGetProperty(from, out var value) && !properties.TryGetProperty(to, out _))
        {
            writer.WritePropertyName(to);
            value.WriteTo(writer);
        }
    }

    private static void Copy(Utf8JsonWriter writer, JsonElement from, string name, string to)
    {
        if (!from.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return;
        }
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);
        if (raw.Contains((byte)'\\'))
        {
            // Decoded first, so that a lone surrogate escape throws here as everywhere else in the mapping.
            writer.WriteString(to, value.GetString());
            return;
        }
        // Without escapes the text is its UTF-8 bytes: written without a string in between (same output).
        writer.WriteString(to, raw[1..^1]);
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Segment allows numeric ids; they are kept as their decimal text.</summary>
    private static string? TextOrNumber(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    /// <summary>"Order Shipped" → order_shipped, "videoPlayed" → video_played, "Add-On Bought" → add_on_bought.</summary>
    public static string ToSnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        var previousWasSeparator = true;
        char previous = '\0';
        foreach (var c in name.Trim())
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                if (char.IsAsciiLetterUpper(c) && !previousWasSeparator && (char.IsAsciiLetterLower(previous) || char.IsAsciiDigit(previous)))
                {
                    builder.Append('_');
                }
                builder.Append(char.ToLowerInvariant(c));
                previousWasSeparator = false;
            }
            else if (!previousWasSeparator)
            {
                builder.Append('_');
                previousWasSeparator = true;
            }
            previous = c;
        }
        var result = builder.ToString().Trim('_');
        if (result.Length == 0 || !char.IsAsciiLetterLower(result[0]))
        {
            result = "e_" + result;
        }
        return result.Length > 64 ? result[..64].TrimEnd('_') : result;
    }
}
