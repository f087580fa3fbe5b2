using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Atalaya.Engine.Demo;

/// <summary>
/// Writes one native event (docs/collector.md (the native event)) at a time with a reused <see cref="Utf8JsonWriter"/>:
/// <c>Begin…</c> writes the envelope and context and opens <c>properties</c>, the caller writes the
/// properties, <see cref="End"/> closes the event and returns its bytes. Event ids are UUID v4
/// strings drawn from the run's seeded <see cref="Random"/>, so they repeat with the seed.
/// </summary>
internal sealed class DemoEventWriter : IDisposable
{
    // NDJSON for files and the collector, never HTML: keep non-ASCII names readable.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ArrayBufferWriter<byte> _buffer = new(2048);
    private readonly Utf8JsonWriter _json;
    private readonly Random _rng;

    public DemoEventWriter(Random rng)
    {
        _rng = rng;
        _json = new Utf8JsonWriter(_buffer, Options);
    }

    /// <summary>An event sent by the shopper's browser or app during <paramref name="visit"/>, at its current time.</summary>
    public Utf8JsonWriter BeginClient(string eventType, DemoVisit visit, string pageUrl)
    {
        var user = visit.User;
        WriteEnvelope(eventType, visit.Time, visit.SessionId, user.UserId, user.AnonymousId);
        _json.WriteStartObject("context");
        _json.WriteString("ip", user.Ip);
        _json.WriteString("user_agent", visit.UserAgent);
        var referrer = visit.Events == 0 ? visit.Referrer : user.Platform == "web" ? visit.PageUrl : null;
        if (referrer is not null)
        {
            _json.WriteString("referrer", referrer);
        }
        _json.WriteString("page_url", pageUrl);
        _json.WriteString("country", user.Country.Code);
        _json.WriteString("source", visit.Source);
        _json.WriteString("platform", user.Platform);
        _json.WriteString("app_id", user.AppId);
        _json.WriteEndObject();
        _json.WriteStartObject("properties");
        visit.PageUrl = pageUrl;
        visit.Events++;
        return _json;
    }

    /// <summary>An event sent by the marketplace's backend: no session, platform "server".</summary>
    public Utf8JsonWriter BeginServer(string eventType, DateTime at, DemoCountry country, DemoStore? store, DemoUser? user)
    {
        WriteEnvelope(eventType, at, null, user?.UserId, user?.UserId is null ? user?.AnonymousId : null);
        _json.WriteStartObject("context");
        _json.WriteString("country", country.Code);
        if (store is not null)
        {
            _json.WriteString("hub", store.Hub);
            _json.WriteString("zone", store.Zone);
        }
        _json.WriteString("platform", "server");
        _json.WriteString("app_id", "tiendi-backend");
        _json.WriteEndObject();
        _json.WriteStartObject("properties");
        return _json;
    }

    public byte[] End()
    {
        _json.WriteEndObject();
        _json.WriteEndObject();
        _json.Flush();
        var bytes = _buffer.WrittenSpan.ToArray();
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        return bytes;
    }

    public void Dispose() => _json.Dispose();

    /// <summary>Writes a decimal without trailing zeros (57.5, not 57.50), whatever scale the arithmetic left it with.</summary>
    public static void WriteDecimal(Utf8JsonWriter json, string name, decimal amount) =>
        json.WriteNumber(name, amount / 1.0000000000000000000000000000m);

    private void WriteEnvelope(string eventType, DateTime at, string? sessionId, string? userId, string? anonymousId)
    {
        _json.WriteStartObject();
        Span<byte> text = stackalloc byte[36];
        WriteUuid(text);
        _json.WriteString("event_id", text);
        _json.WriteString("event_type", eventType);
        at.TryFormat(text, out var written, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        _json.WriteString("timestamp", text[..written]);
        if (sessionId is not null)
        {
            _json.WriteString("session_id", sessionId);
        }
        if (userId is not null)
        {
            _json.WriteString("user_id", userId);
        }
        if (anonymousId is not null)
        {
            _json.WriteString("anonymous_id", anonymousId);
        }
    }

    /// <summary>A random (version 4) UUID in its 36-character text form, from the seeded generator.</summary>
    public void WriteUuid(Span<byte> destination)
    {
        Span<byte> bytes = stackalloc byte[16];
        _rng.NextBytes(bytes);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        var at = 0;
        for (var i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                destination[at++] = (byte)'-';
            }
            destination[at++] = Hex(bytes[i] >> 4);
            destination[at++] = Hex(bytes[i] & 0xF);
        }
    }

    public string NewUuid()
    {
        Span<byte> text = stackalloc byte[36];
        WriteUuid(text);
        return System.Text.Encoding.ASCII.GetString(text);
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
}
