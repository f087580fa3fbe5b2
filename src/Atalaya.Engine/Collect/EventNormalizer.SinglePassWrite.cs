using System.Buffers;
using System.Buffers.Text;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

// The single pass's stored form: the same bytes EventNormalizer.Write.cs produces, assembled from
// raw slices of the request and pre-encoded fragments instead of a document and a JSON writer.
internal sealed partial class EventNormalizer
{
    private static readonly ContextFields[] DerivedFields =
        [ContextFields.DeviceType, ContextFields.Os, ContextFields.Browser, ContextFields.Country, ContextFields.Hub, ContextFields.Zone, ContextFields.Category];

    private enum FxSource
    {
        None,
        Event,
        Identity,
        Table,
        Missing,
    }

    /// <summary>
    /// Enriches and writes a scanned event. Everything that can still send the event to the slow
    /// path (false) is decided before the first byte is written.
    /// </summary>
    private bool TryWrite(ReadOnlySpan<byte> json, ref EventScan s, int index, BatchTarget target)
    {
        // The ip is stored truncated, written over the client's in place (padded with spaces after the
        // value) so that every offset the facts hold stays; anything unusual goes to the slow path.
        byte[]? ip = null;
        if (s.Minimise)
        {
            return false;
        }
        if (s.Ip.Present)
        {
            if (s.Ip.Escaped || !json[s.Ip.Start].Equals((byte)'"')
                || IpTruncation.Truncate(s.Ip.Text(json), _options) is not { } truncated || truncated.Length + 2 > s.Ip.Length)
            {
                return false;
            }
            ip = truncated;
        }
        UserAgentCache.Entry? ua = null;
        if (s.UserAgent.Present)
        {
            if (s.UserAgent.Escaped)
            {
                return false;
            }
            ua = UserAgentCache.GetUnescaped(json.Slice(s.UserAgent.Start, s.UserAgent.Length));
        }
        StoreDimension? store = null;
        if (s.StoreId.Present)
        {
            if (s.StoreId.Escaped || s.StoreId.Length > 1024)
            {
                return false;
            }
            var id = s.StoreId.Text(json);
            Span<char> chars = stackalloc char[id.Length];
            store = target.Stores.Find(chars[..Encoding.UTF8.GetChars(id, chars)], _stores);
        }

        // The context fields derived from the user agent and the store, where the client left them out.
        Span<string?> values = [ua?.Info.DeviceType, ua?.Info.Os, ua?.Info.Browser, store?.Country, store?.Hub, store?.Zone, store?.Category];
        Span<byte[]?> fragments = [ua?.DeviceType, ua?.Os, ua?.Browser, null, null, null, null];
        var additions = 0;
        var fragmentBytes = 0;
        for (var i = 0; i < DerivedFields.Length; i++)
        {
            if (values[i] is null or "unknown" || (s.ContextPresent & DerivedFields[i]) != 0)
            {
                values[i] = null;
                fragments[i] = null;
                continue;
            }
            fragments[i] ??= JsonFragments.Get(ContextFieldName(DerivedFields[i]), values[i]!);
            fragmentBytes += fragments[i]!.Length + 1;
            additions++;
        }

        var fx = FxSource.None;
        var rate = 0m;
        if (s.Type!.Rule is { Monetary: true } && s.Properties >= 0 && s.Currency.Present)
        {
            var currency = s.Currency.Text(json);
            if (s.HasFxRate)
            {
                (fx, rate) = (FxSource.Event, s.FxRate);
            }
            else if (currency.SequenceEqual(_reportingCurrency))
            {
                (fx, rate) = (FxSource.Identity, 1m);
            }
            else
            {
                Span<char> code = stackalloc char[currency.Length];
                for (var i = 0; i < currency.Length; i++)
                {
                    code[i] = (char)currency[i];
                }
                var day = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(s.TimestampMs).UtcDateTime);
                fx = _fx.TryGet(code, day, out rate) ? FxSource.Table : FxSource.Missing;
            }
        }

        var batch = target.Batch;
        batch.BeginEvent();
        var offset = batch.WrittenCount;
        var buffer = batch.Buffer;
        // Every raw part comes from the event once; the rest is names, timestamps, a rate and flags.
        var bound = s.End - s.Start + target.ReceivedAt.Length + target.SourceAndCatalog.Length + fragmentBytes + 512;
        var dest = buffer.GetSpan(bound);
        var p = 0;
        // Bytes of this event already advanced past dest[0] (only after the writer wrote the context).
        var advanced = 0;
        var facts = new CollectedFacts { Fx = double.NaN };
        Append(dest, ref p, "{\"event_id\":\""u8);
        Append(dest, ref p, json.Slice(s.EventId, s.EventIdLength));
        Append(dest, ref p, "\",\"event_type\":\""u8);
        facts.Type = new JsonText(p - 1, s.EventTypeLength + 2, false);
        Append(dest, ref p, json.Slice(s.EventType, s.EventTypeLength));
        Append(dest, ref p, "\",\"timestamp\":"u8);
        AppendTimestamp(dest, ref p, s.TimestampMs);
        Append(dest, ref p, target.ReceivedAt);
        if (s.Clamped)
        {
            Append(dest, ref p, ",\"original_timestamp\":"u8);
            AppendTimestamp(dest, ref p, s.OriginalTimestampMs);
        }
        facts.SessionId = AppendId(dest, ref p, ",\"session_id\":"u8, s.SessionId, json);
        facts.UserId = AppendId(dest, ref p, ",\"user_id\":"u8, s.UserId, json);
        facts.AnonymousId = AppendId(dest, ref p, ",\"anonymous_id\":"u8, s.AnonymousId, json);
        Append(dest, ref p, target.SourceAndCatalog);
        if (s.Type.Rule is null)
        {
            Append(dest, ref p, ",\"custom\":true"u8);
        }

        Append(dest, ref p, ",\"context\":"u8);
        var contextShift = p - s.Context;
        if (s.Context >= 0)
        {
            var raw = json.Slice(s.Context, s.ContextLength);
            if (additions == 0)
            {
                Append(dest, ref p, raw);
            }
            else
            {
                // The client's context copied as sent, the derived fields spliced in before its closing brace.
                var body = raw[..raw.LastIndexOf((byte)'}')].TrimEnd(" \t\r\n"u8);
                Append(dest, ref p, body);
                var empty = body.Length == 1;
                foreach (var fragment in fragments)
                {
                    if (fragment is null)
                    {
                        continue;
                    }
                    if (!empty)
                    {
                        dest[p++] = (byte)',';
                    }
                    empty = false;
                    Append(dest, ref p, fragment);
                }
                dest[p++] = (byte)'}';
            }
            if (ip is not null)
            {
                var at = s.Ip.Start + contextShift;
                var value = dest.Slice(at, s.Ip.Length);
                value.Fill((byte)' ');
                value[0] = (byte)'"';
                ip.CopyTo(value[1..]);
                value[ip.Length + 1] = (byte)'"';
            }
        }
        else if (additions == 0)
        {
            Append(dest, ref p, "{}"u8);
        }
        else
        {
            // No context from the client: the store's fields, written as the slow path writes them.
            buffer.Advance(p);
            var writer = target.Writer;
            writer.Reset(buffer);
            writer.WriteStartObject();
            for (var i = 0; i < DerivedFields.Length; i++)
            {
                if (values[i] is { } value)
                {
                    writer.WriteString(ContextFieldName(DerivedFields[i]), value);
                }
            }
            writer.WriteEndObject();
            writer.Flush();
            dest = buffer.GetSpan(bound);
            p = 0;
            advanced = batch.WrittenCount - offset;
        }
        for (var i = 0; i < StoreDimensions.Length; i++)
        {
            // The store's country, hub, zone and category follow the user agent's three fields.
            if (values[3 + i] is not null)
            {
                facts.Derived |= StoreDimensions[i].Derived;
                facts.DerivedFrom = store;
            }
        }

        Append(dest, ref p, ",\"properties\":"u8);
        var propertiesShift = advanced + p - s.Properties;
        Append(dest, ref p, s.Properties >= 0 ? json.Slice(s.Properties, s.PropertiesLength) : "{}"u8);

        if (fx != FxSource.None)
        {
            Append(dest, ref p, ",\"currency\":\""u8);
            Append(dest, ref p, s.Currency.Text(json));
            dest[p++] = (byte)'"';
            if (fx != FxSource.Missing)
            {
                Append(dest, ref p, ",\"fx_rate_to_reporting\":"u8);
                Utf8Formatter.TryFormat(rate, dest[p..], out var written);
                facts.Fx = StoredNumber(dest.Slice(p, written));
                p += written;
                Append(dest, ref p, fx switch
                {
                    FxSource.Event => ",\"fx_source\":\"event\""u8,
                    FxSource.Identity => ",\"fx_source\":\"identity\""u8,
                    _ => ",\"fx_source\":\"table\""u8,
                });
            }
        }

        if (s.Extra >= 0)
        {
            // The mapped message's annotation: compact and unescaped, so its bytes are what the writer would write.
            Append(dest, ref p, ",\"extra\":{"u8);
            Append(dest, ref p, json.Slice(s.Extra, s.ExtraLength));
            dest[p++] = (byte)'}';
        }

        if (s.Clamped || fx == FxSource.Missing)
        {
            Append(dest, ref p, ",\"flags\":["u8);
            Append(dest, ref p, s.Clamped ? "\"timestamp_clamped\""u8 : ""u8);
            Append(dest, ref p, s.Clamped && fx == FxSource.Missing ? ","u8 : ""u8);
            Append(dest, ref p, fx == FxSource.Missing ? "\"fx_rate_missing\""u8 : ""u8);
            dest[p++] = (byte)']';
        }
        dest[p++] = (byte)'}';
        buffer.Advance(p);

        // The id holds no escape (checked in the scan): its bytes are its UTF-8.
        var hash = XxHash128.HashToUInt128(json.Slice(s.EventId, s.EventIdLength));
        CollectFacts(json, ref s, target, ref facts, contextShift, propertiesShift);
        batch.AddEvent(index, hash, s.TimestampMs, offset, null, facts);
        return true;
    }

    private static void Append(Span<byte> dest, ref int position, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(dest[position..]);
        position += bytes.Length;
    }

    /// <summary>Appends an envelope id as sent; where its token now is in the stored form.</summary>
    private static JsonText AppendId(Span<byte> dest, ref int position, ReadOnlySpan<byte> name, Token id, ReadOnlySpan<byte> json)
    {
        if (!id.Present)
        {
            return default;
        }
        Append(dest, ref position, name);
        var stored = new JsonText(position, id.Length, id.Escaped);
        Append(dest, ref position, json.Slice(id.Start, id.Length));
        return stored;
    }

    /// <summary>A number the stored form holds, read as the stored-event reader reads it.</summary>
    private static double StoredNumber(ReadOnlySpan<byte> number)
    {
        var reader = new Utf8JsonReader(number);
        reader.Read();
        return reader.GetDouble();
    }

    /// <summary>
    /// A UTC timestamp quoted, as <see cref="System.Text.Json.Utf8JsonWriter"/> writes a
    /// <see cref="DateTime"/>: round-trip format with the fraction's trailing zeros dropped.
    /// </summary>
    private static void AppendTimestamp(Span<byte> dest, ref int position, long unixMs)
    {
        Span<byte> text = stackalloc byte[33];
        Utf8Formatter.TryFormat(DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime, text, out _, new StandardFormat('O'));
        // yyyy-MM-ddTHH:mm:ss.fffffffZ: the fraction is at 20..26.
        var last = 26;
        while (last >= 20 && text[last] == (byte)'0')
        {
            last--;
        }
        var length = last >= 20 ? last + 1 : 19;
        dest[position++] = (byte)'"';
        Append(dest, ref position, text[..length]);
        Append(dest, ref position, "Z\""u8);
    }
}
