using System.Text;
using System.Text.Json.Nodes;

namespace Atalaya.Tests.Robustness;

/// <summary>The cases about size, compression, content type, write keys and Segment batches.</summary>
public sealed partial class BadRequestGenerator
{
    private const int NativeLimit = 5 * 1024 * 1024;
    private const int SegmentBatchLimit = 500 * 1024;
    private const int EventLimit = 32 * 1024;

    private void Huge()
    {
        foreach (var size in new[] { EventLimit + 1024, 40 * 1024, 100 * 1024, 1024 * 1024, 4 * 1024 * 1024 + 512 * 1024 })
        {
            Native("huge", $"custom properties.note of {size:N0} chars", LongNote(size), EventTooLarge);
        }
        for (var i = 0; i < 8; i++)
        {
            var size = _random.Next(EventLimit + 1, 3 * 1024 * 1024);
            Native("huge", $"custom properties.note of {size:N0} chars", LongNote(size), EventTooLarge);
        }
        Native("huge", "purchase with 3,000 items", PurchaseWithItems(3_000).Item2, EventTooLarge);
        Native("huge", "custom properties.tags with 100,000 numbers",
            WithRaw(SampleEvents.Custom(NextId()), "properties.tags", "[" + string.Join(',', Enumerable.Range(0, 100_000)) + "]"), EventTooLarge);
        var longKey = SampleEvents.Custom(NextId());
        longKey["properties"]![new string('k', 40 * 1024)] = 1;
        Native("huge", "custom property name of 40,960 chars", SampleEvents.Utf8(longKey), EventTooLarge);
        Native("huge", "page_view context.page_url of 40,960 chars",
            SampleEvents.Utf8(SampleEvents.Set(SampleEvents.PageView(NextId()), "context.page_url", "https://shop.example/" + new string('p', 40 * 1024))), EventTooLarge);
        Native("huge", "custom event_id of 40,960 chars",
            SampleEvents.Utf8(SampleEvents.Set(SampleEvents.Custom(NextId()), "event_id", NextId() + new string('i', 40 * 1024))), EventTooLarge);

        Native("huge", "6 MiB array of valid events", ValidEventArray(6 * 1024 * 1024), TooLarge);
        Add(NewCase("huge", "6 MiB array of valid events, chunked", "api/events", ValidEventArray(6 * 1024 * 1024), Json, NativeAuthorization, TooLarge) with { Chunked = true });
        Native("huge", "6 MiB NDJSON of valid events", ValidEventNdjson(6 * 1024 * 1024), TooLarge, NdjsonType);
        Add(NewCase("huge", "6 MiB NDJSON of valid events, chunked", "api/events", ValidEventNdjson(6 * 1024 * 1024), NdjsonType, NativeAuthorization, TooLarge) with { Chunked = true });
        Add(NewCase("huge", "20 MiB array of valid events, chunked", "api/events", ValidEventArray(20 * 1024 * 1024), Json, NativeAuthorization, TooLarge) with { Chunked = true });
        Native("huge", "5 MiB + 1 byte array of valid events", PadTo(ValidEventArray(NativeLimit - 4096), NativeLimit + 1), TooLarge);

        var invalid = new StringBuilder("[");
        for (var i = 0; i < 5_000; i++)
        {
            invalid.Append(i == 0 ? "" : ",").Append("{\"event_id\":\"").Append(NextId()).Append("\",\"timestamp\":\"").Append(SampleEvents.Timestamp).Append("\"}");
        }
        Native("huge", "array of 5,000 events without event_type", Encoding.UTF8.GetBytes(invalid.Append(']').ToString()), Malformed);
    }

    private void Gzip()
    {
        var spaces = new byte[20 * 1024 * 1024];
        Array.Fill(spaces, (byte)' ');
        spaces[0] = (byte)'[';
        spaces[^1] = (byte)']';
        var spaceBomb = SampleEvents.Gzip(spaces);
        NativeGzip("gzip-bomb", $"{spaceBomb.Length:N0} bytes inflating to 20 MiB of spaces", spaceBomb, TooLarge);
        Add(NewCase("gzip-bomb", $"{spaceBomb.Length:N0} bytes inflating to 20 MiB of spaces, chunked", "api/events", spaceBomb, Json, NativeAuthorization, TooLarge) with { ContentEncoding = "gzip", Chunked = true });
        var zeroBomb = SampleEvents.Gzip(new byte[50 * 1024 * 1024]);
        NativeGzip("gzip-bomb", $"{zeroBomb.Length:N0} bytes inflating to 50 MiB of zeros", zeroBomb, TooLarge);
        var events = SampleEvents.Gzip(ValidEventArray(6 * 1024 * 1024));
        NativeGzip("gzip-bomb", $"{events.Length:N0} bytes inflating to a 6 MiB array of valid events", events, TooLarge);
        var ndjson = SampleEvents.Gzip(ValidEventNdjson(6 * 1024 * 1024));
        NativeGzip("gzip-bomb", $"{ndjson.Length:N0} bytes inflating to 6 MiB of NDJSON valid events", ndjson, TooLarge, NdjsonType);
        var bigEvent = SampleEvents.Gzip(LongNote(64 * 1024));
        NativeGzip("gzip-bomb", $"{bigEvent.Length:N0} bytes inflating to one 64 KiB event", bigEvent, EventTooLarge);
        var batch = SampleEvents.Gzip(SegmentBatchOfSize(600 * 1024));
        Add(NewCase("gzip-bomb", $"{batch.Length:N0} bytes inflating to a 600 KiB segment batch", "v1/batch", batch, Json, SegmentAuthorization, TooLarge) with { ContentEncoding = "gzip" });
        var paddedBatch = Encoding.UTF8.GetBytes("{\"batch\":[" + SampleEvents.Text(SampleEvents.SegmentTrack(NextId())) + "],\"padding\":\"" + new string(' ', 2 * 1024 * 1024) + "\"}");
        var padded = SampleEvents.Gzip(paddedBatch);
        Add(NewCase("gzip-bomb", $"{padded.Length:N0} bytes inflating to a 2 MiB segment batch", "v1/batch", padded, Json, SegmentAuthorization, TooLarge) with { ContentEncoding = "gzip" });
        var track = SampleEvents.SegmentTrack(NextId());
        track["properties"]!["coupon"] = new string('c', 1024 * 1024);
        var trackBomb = SampleEvents.Gzip(SampleEvents.Utf8(track));
        Add(NewCase("gzip-bomb", $"{trackBomb.Length:N0} bytes inflating to a 1 MiB segment track", "v1/track", trackBomb, Json, SegmentAuthorization, TooLarge) with { ContentEncoding = "gzip" });

        for (var i = 0; i < 8; i++)
        {
            var garbage = new byte[_random.Next(1, 4097)];
            _random.NextBytes(garbage);
            NativeGzip("gzip-invalid", $"{garbage.Length:N0} random bytes", garbage, Malformed);
        }
        for (var i = 0; i < 6; i++)
        {
            var garbage = new byte[_random.Next(10, 2049)];
            _random.NextBytes(garbage);
            garbage[0] = 0x1F;
            garbage[1] = 0x8B;
            garbage[2] = 0x08;
            garbage[3] = 0x00;
            NativeGzip("gzip-invalid", $"gzip header then {garbage.Length - 4:N0} random bytes", garbage, Malformed);
        }
        for (var i = 0; i < 8; i++)
        {
            var whole = SampleEvents.Gzip(EventArray(_random.Next(1, 20)).Item2);
            var cut = _random.Next(1, whole.Length);
            NativeGzip("gzip-invalid", $"valid gzip cut at byte {cut} of {whole.Length}", whole[..cut], Malformed);
        }
        for (var i = 0; i < 3; i++)
        {
            var corrupt = SampleEvents.Gzip(EventArray(_random.Next(1, 5)).Item2);
            corrupt[^8] ^= 0xFF;
            NativeGzip("gzip-invalid", "valid deflate data with a wrong CRC-32", corrupt, Malformed);
        }
        for (var i = 0; i < 2; i++)
        {
            var corrupt = SampleEvents.Gzip(EventArray(_random.Next(1, 5)).Item2);
            corrupt[^4] ^= 0x01;
            NativeGzip("gzip-invalid", "valid deflate data with a wrong ISIZE", corrupt, Malformed);
        }
        for (var i = 0; i < 3; i++)
        {
            NativeGzip("gzip-invalid", "plain JSON labelled Content-Encoding: gzip", EventArray(_random.Next(1, 5)).Item2, Malformed);
        }
        for (var i = 0; i < 2; i++)
        {
            NativeGzip("gzip-invalid", "gzip of gzip", SampleEvents.Gzip(SampleEvents.Gzip(EventArray(_random.Next(1, 5)).Item2)), Malformed);
        }
        var segmentGarbage = new byte[512];
        _random.NextBytes(segmentGarbage);
        Add(NewCase("gzip-invalid", "segment batch of 512 random bytes", "v1/batch", segmentGarbage, Json, SegmentAuthorization, Malformed) with { ContentEncoding = "gzip" });
        var segmentWhole = SampleEvents.Gzip(SampleEvents.Utf8(SegmentBatch(3)));
        Add(NewCase("gzip-invalid", $"segment batch gzip cut at byte {segmentWhole.Length / 2}", "v1/batch", segmentWhole[..(segmentWhole.Length / 2)], Json, SegmentAuthorization, Malformed) with { ContentEncoding = "gzip" });

        foreach (var encoding in new[] { "br", "deflate", "compress", "zstd" })
        {
            Add(NewCase("encoding", $"Content-Encoding: {encoding} on a plain body", "api/events", SingleEvent().Item2, Json, NativeAuthorization, UnsupportedEncoding) with { ContentEncoding = encoding });
        }
        Add(NewCase("encoding", "segment batch with Content-Encoding: br on a plain body", "v1/batch", SampleEvents.Utf8(SegmentBatch(2)), Json, SegmentAuthorization, UnsupportedEncoding) with { ContentEncoding = "br" });
    }

    private void ContentTypes()
    {
        string[] wrong =
        [
            "text/html", "text/html; charset=utf-8", "application/xml", "text/xml", "multipart/form-data; boundary=----atalaya",
            "application/x-www-form-urlencoded", "image/png", "application/octet-stream", "text/csv", "application/javascript", "json",
        ];
        foreach (var type in wrong)
        {
            Native("content-type", $"{type} with one valid event", SingleEvent().Item2, UnsupportedType, type);
            Native("content-type", $"{type} with an array of valid events", EventArray(_random.Next(2, 6)).Item2, UnsupportedType, type);
        }
        var multipart = Encoding.UTF8.GetBytes(
            "------atalaya\r\nContent-Disposition: form-data; name=\"events\"\r\nContent-Type: application/json\r\n\r\n"
            + SampleEvents.Text(SampleEvents.Custom(NextId())) + "\r\n------atalaya--\r\n");
        Native("content-type", "real multipart/form-data with a JSON part", multipart, UnsupportedType, "multipart/form-data; boundary=----atalaya");
        foreach (var type in new[] { "text/html", "application/xml", "multipart/form-data; boundary=x", "application/octet-stream", "image/png" })
        {
            Segment("content-type", $"segment batch as {type}", "batch", SampleEvents.Utf8(SegmentBatch(_random.Next(1, 4))), UnsupportedType, type);
            Segment("content-type", $"segment track as {type}", "track", SampleEvents.Utf8(SampleEvents.SegmentTrack(NextId())), UnsupportedType, type);
        }
        // The RudderStack Node SDK labels its (JSON) bodies application/x-www-form-urlencoded, so
        // Segment endpoints read that type as JSON: a real form body is then malformed, a 400.
        var form = Encoding.UTF8.GetBytes($"writeKey=x&batch=%5B%7B%22type%22%3A%22track%22%2C%22messageId%22%3A%22{NextId()}%22%7D%5D");
        Segment("content-type", "segment batch as a real url-encoded form", "batch", form, Malformed, "application/x-www-form-urlencoded");
        Segment("content-type", "segment track as a real url-encoded form", "track", form, Malformed, "application/x-www-form-urlencoded");
    }

    private void WriteKeys()
    {
        for (var round = 0; round < 5; round++)
        {
            var randomKey = RandomToken(_random.Next(8, 65));
            var flipped = writeKey[..^1] + (writeKey[^1] == 'A' ? 'B' : 'A');
            (string Name, string? Header, IReadOnlyList<int> Expected)[] forms =
            [
                ("no Authorization header", null, Unauthorized),
                ("\"Bearer\" without a key", "Bearer", Unauthorized),
                ("\"Bearer \" with an empty key", "Bearer ", Unauthorized),
                ("a random Bearer key", "Bearer " + randomKey, Unauthorized),
                ("the write key with its last character changed", "Bearer " + flipped, Unauthorized),
                ("the write key plus one character", "Bearer " + writeKey + "x", Unauthorized),
                ("the write key minus its last character", "Bearer " + writeKey[..^1], Unauthorized),
                ("the write key without a scheme", writeKey, Unauthorized),
                ("the write key under scheme Token", "Token " + writeKey, Unauthorized),
                ("HTTP Basic with an unknown username", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(randomKey + ":")), Unauthorized),
                ("a read (analyst) token", "Bearer " + readToken, NotAWriteKey),
            ];
            foreach (var (name, header, expected) in forms)
            {
                var (description, body) = _random.Next(2) == 0 ? SingleEvent() : EventArray(_random.Next(2, 6));
                Add(NewCase("write-key", $"{name}, {description}", "api/events", body, Json, header, expected));
            }
        }
        var segmentForms = new (string Name, string? Header, string? BodyKey, IReadOnlyList<int> Expected)[]
        {
            ("no key anywhere", null, null, Unauthorized),
            ("HTTP Basic with an unknown username", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(RandomToken(32) + ":")), null, Unauthorized),
            ("HTTP Basic that is not base64", "Basic !!!not-base64!!!", null, Unauthorized),
            ("an unknown writeKey in the body", null, RandomToken(32), Unauthorized),
            ("an empty writeKey in the body", null, "", Unauthorized),
            ("an unknown Bearer key", "Bearer " + RandomToken(40), null, Unauthorized),
            ("HTTP Basic with a read (analyst) token", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(readToken + ":")), null, NotAWriteKey),
            ("a read (analyst) token as writeKey in the body", null, readToken, NotAWriteKey),
        };
        foreach (var (name, header, bodyKey, expected) in segmentForms)
        {
            var batch = SegmentBatch(_random.Next(1, 4));
            var track = SampleEvents.SegmentTrack(NextId());
            if (bodyKey is not null)
            {
                batch["writeKey"] = bodyKey;
                track["writeKey"] = bodyKey;
            }
            Add(NewCase("write-key", $"segment batch with {name}", "v1/batch", SampleEvents.Utf8(batch), Json, header, expected));
            Add(NewCase("write-key", $"segment track with {name}", "v1/track", SampleEvents.Utf8(track), Json, header, expected));
        }
    }

    private void Segment()
    {
        string[] wrongTypes = ["\"tarck\"", "\"purchase\"", "\"\"", "5", "null", "true", "{}", "[\"track\"]", "(none)"];
        for (var i = 0; i < 36; i++)
        {
            var type = wrongTypes[i % wrongTypes.Length];
            var batch = SegmentBatch(_random.Next(1, 6));
            foreach (var message in batch["batch"]!.AsArray())
            {
                if (type == "(none)")
                {
                    message!.AsObject().Remove("type");
                }
                else
                {
                    message!["type"] = JsonNode.Parse(type);
                }
            }
            var count = batch["batch"]!.AsArray().Count;
            Segment("segment", $"batch of {count} with type {type}", "batch", SampleEvents.Utf8(batch), Malformed);
        }
        foreach (var size in new[] { SegmentBatchLimit + 1024, 800 * 1024, 2 * 1024 * 1024 })
        {
            Segment("segment", $"batch of {size:N0} bytes of valid tracks", "batch", SegmentBatchOfSize(size), TooLarge);
        }
        Add(NewCase("segment", "batch of 600 KiB of valid tracks, chunked", "v1/batch", SegmentBatchOfSize(600 * 1024), Json, SegmentAuthorization, TooLarge) with { Chunked = true });
        Add(NewCase("segment", "batch of 600 KiB of valid tracks, key in the body", "v1/batch", SegmentBatchOfSize(600 * 1024, writeKey), Json, null, TooLarge));
        foreach (var size in new[] { 40 * 1024, 200 * 1024 })
        {
            var track = SampleEvents.SegmentTrack(NextId());
            track["properties"]!["coupon"] = new string('c', size);
            Segment("segment", $"track with a {size:N0}-char property", "track", SampleEvents.Utf8(track), EventTooLarge);
        }
        for (var i = 0; i < 3; i++)
        {
            var track = SampleEvents.SegmentTrack(NextId());
            track.Remove("event");
            Segment("segment", "track without an event name", "track", SampleEvents.Utf8(track), Malformed);
            var batch = SegmentBatch(_random.Next(1, 4));
            foreach (var message in batch["batch"]!.AsArray())
            {
                message!.AsObject().Remove("event");
            }
            Segment("segment", "batch of tracks without event names", "batch", SampleEvents.Utf8(batch), Malformed);
        }
    }

    private void NativeGzip(string category, string description, byte[] body, IReadOnlyList<int> expected, string contentType = Json) =>
        Add(NewCase(category, description, "api/events", body, contentType, NativeAuthorization, expected) with { ContentEncoding = "gzip" });

    private BadRequest NewCase(string category, string description, string path, byte[] body, string? contentType, string? authorization, IReadOnlyList<int> expected) =>
        new($"{category}/{_cases.Count:0000} {description}", path, body, contentType, authorization, expected);

    private byte[] LongNote(int size) =>
        SampleEvents.Utf8(SampleEvents.Set(SampleEvents.Custom(NextId()), "properties.note", new string('n', size)));

    /// <summary>A JSON array of valid custom events (bad- ids) of at least the given size.</summary>
    private byte[] ValidEventArray(int size)
    {
        var text = new StringBuilder(size + 1024).Append('[');
        var first = true;
        while (text.Length < size)
        {
            text.Append(first ? "" : ",").Append(SampleEvents.Text(PaddedCustom()));
            first = false;
        }
        return Encoding.UTF8.GetBytes(text.Append(']').ToString());
    }

    private byte[] ValidEventNdjson(int size)
    {
        var text = new StringBuilder(size + 1024);
        while (text.Length < size)
        {
            text.Append(SampleEvents.Text(PaddedCustom())).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private JsonObject PaddedCustom() => SampleEvents.Set(SampleEvents.Custom(NextId()), "properties.note", new string('p', 200));

    private byte[] SegmentBatchOfSize(int size, string? bodyKey = null)
    {
        var text = new StringBuilder(size + 1024).Append('{');
        if (bodyKey is not null)
        {
            text.Append("\"writeKey\":\"").Append(bodyKey).Append("\",");
        }
        text.Append("\"batch\":[");
        var first = true;
        while (text.Length < size)
        {
            var track = SampleEvents.SegmentTrack(NextId());
            track["properties"]!["coupon"] = new string('c', 200);
            text.Append(first ? "" : ",").Append(SampleEvents.Text(track));
            first = false;
        }
        return Encoding.UTF8.GetBytes(text.Append("]}").ToString());
    }

    /// <summary>Pads a JSON array body with whitespace before its closing bracket to exactly the given size.</summary>
    private static byte[] PadTo(byte[] array, int size)
    {
        var padded = new byte[size];
        array.AsSpan(0, array.Length - 1).CopyTo(padded);
        padded.AsSpan(array.Length - 1, size - array.Length).Fill((byte)' ');
        padded[^1] = (byte)']';
        return padded;
    }

    private string RandomToken(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        return string.Create(length, _random, (span, random) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[random.Next(alphabet.Length)];
            }
        });
    }
}
