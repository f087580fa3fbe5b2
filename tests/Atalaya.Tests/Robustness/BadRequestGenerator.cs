using System.Text;
using System.Text.Json.Nodes;

namespace Atalaya.Tests.Robustness;

/// <summary>
/// Builds well over a thousand hostile collector requests, the same ones for the same seed: broken
/// JSON, wrong types, missing fields, deep nesting, oversized events and requests, invalid UTF-8,
/// non-finite amounts, gzip bombs and broken gzip, wrong content types, empty and bare bodies, bad
/// write keys, broken NDJSON and bad Segment batches. Each request is wrong as a whole (no event in
/// it could be accepted) and wrong for one reason, so the contract names one answer for it
/// (docs/collector.md). Every event id it carries starts with <c>bad-</c>.
/// </summary>
public sealed partial class BadRequestGenerator(int seed, string writeKey, string readToken)
{
    private const string Json = "application/json";
    private const string NdjsonType = "application/x-ndjson";
    private const string Marker = "__MARK__";

    private static readonly int[] Malformed = [400];
    private static readonly int[] TooLarge = [413];
    private static readonly int[] EventTooLarge = [400, 413];
    private static readonly int[] Unauthorized = [401];
    private static readonly int[] NotAWriteKey = [401, 403];
    private static readonly int[] UnsupportedType = [415];
    private static readonly int[] UnsupportedEncoding = [400, 415];

    private readonly Random _random = new(seed);
    private readonly List<BadRequest> _cases = [];
    private int _ids;

    private string NativeAuthorization => "Bearer " + writeKey;

    private string SegmentAuthorization => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":"));

    public IReadOnlyList<BadRequest> Generate()
    {
        if (_cases.Count > 0)
        {
            throw new InvalidOperationException("A generator makes its cases once; create a new one with the seed.");
        }
        Truncated();
        WrongTypes();
        MissingFields();
        DeepNesting();
        InvalidUtf8();
        NonFiniteAmounts();
        EmptyAndBare();
        BrokenNdjson();
        Huge();
        Gzip();
        ContentTypes();
        WriteKeys();
        Segment();
        return _cases;
    }

    private void Truncated()
    {
        for (var i = 0; i < 300; i++)
        {
            var (description, body) = _random.Next(4) switch
            {
                0 => SingleEvent(),
                1 => EventArray(_random.Next(1, 6)),
                2 => PurchaseWithItems(_random.Next(1, 21)),
                _ => EventArray(_random.Next(6, 41)),
            };
            var cut = _random.Next(1, body.Length);
            Native("truncated", $"{description} cut at byte {cut} of {body.Length}", body[..cut], Malformed);
        }
        for (var i = 0; i < 60; i++)
        {
            var batch = i % 2 == 0;
            var body = batch
                ? SampleEvents.Utf8(SegmentBatch(_random.Next(1, 6)))
                : SampleEvents.Utf8(SampleEvents.SegmentTrack(NextId()));
            var cut = _random.Next(1, body.Length);
            Segment("truncated", $"segment {(batch ? "batch" : "track")} cut at byte {cut} of {body.Length}", batch ? "batch" : "track", body[..cut], Malformed);
        }
    }

    private static readonly (string Template, string Path, string Value)[] TypeMutations =
    [
        ("*", "event_id", "123"), ("*", "event_id", "1.5"), ("*", "event_id", "true"), ("*", "event_id", "{}"),
        ("*", "event_id", "[\"bad-in-array\"]"), ("*", "event_id", "null"), ("*", "event_id", "\"\""),
        ("*", "event_id", "\"bad-" + new string('x', 200) + "\""),
        ("*", "event_type", "5"), ("*", "event_type", "null"), ("*", "event_type", "\"\""), ("*", "event_type", "[]"), ("*", "event_type", "{}"),
        ("*", "timestamp", "\"yesterday\""), ("*", "timestamp", "\"2026-03-01 12:00:00\""), ("*", "timestamp", "\"2026-03-01T12:00:00\""),
        ("*", "timestamp", "\"2026-03-01\""), ("*", "timestamp", "\"2026-02-30T12:00:00Z\""), ("*", "timestamp", "\"2026-03-01T25:00:00Z\""),
        ("*", "timestamp", "\"2026-03-01T12:00:00+25:00\""), ("*", "timestamp", "1772366400"), ("*", "timestamp", "null"),
        ("*", "timestamp", "\"\""), ("*", "timestamp", "true"), ("*", "timestamp", "\"01/03/2026 12:00\""),
        ("*", "properties", "\"props\""), ("*", "properties", "7"), ("*", "properties", "[1,2]"),
        ("page_view", "context", "\"ctx\""), ("page_view", "context", "5"), ("custom", "context", "[]"),
        ("page_view", "context.page_url", "42"), ("page_view", "context.page_url", "null"), ("page_view", "context.page_url", "{}"),
        ("purchase_completed", "properties.items", "\"abc\""), ("purchase_completed", "properties.items", "{}"),
        ("purchase_completed", "properties.items", "5"), ("purchase_completed", "properties.items", "null"),
        ("purchase_completed", "properties.items[0]", "\"x\""), ("purchase_completed", "properties.items[0]", "5"),
        ("purchase_completed", "properties.items[0].quantity", "\"2\""), ("purchase_completed", "properties.items[0].quantity", "\"two\""),
        ("purchase_completed", "properties.items[0].quantity", "null"), ("purchase_completed", "properties.items[0].quantity", "true"),
        ("purchase_completed", "properties.items[0].price", "\"abc\""), ("purchase_completed", "properties.items[0].price", "null"),
        ("purchase_completed", "properties.items[0].price", "{}"), ("purchase_completed", "properties.items[0].product_id", "{}"),
        ("purchase_completed", "properties.total", "\"abc\""), ("purchase_completed", "properties.total", "true"),
        ("purchase_completed", "properties.total", "{}"), ("purchase_completed", "properties.total", "[]"),
        ("purchase_completed", "properties.total", "null"), ("purchase_completed", "properties.subtotal", "\"abc\""),
        ("purchase_completed", "properties.delivery_fee", "\"abc\""), ("purchase_completed", "properties.currency", "123"),
        ("purchase_completed", "properties.currency", "null"), ("purchase_completed", "properties.currency", "{}"),
        ("purchase_completed", "properties.order_id", "{}"), ("purchase_completed", "properties.order_id", "[]"),
        ("purchase_completed", "properties.order_id", "null"), ("purchase_completed", "properties.store_id", "{}"),
        ("purchase_completed", "properties.store_id", "null"),
        ("add_to_cart", "properties.quantity", "\"2\""), ("add_to_cart", "properties.quantity", "\"two\""), ("add_to_cart", "properties.price", "\"abc\""),
        ("product_viewed", "properties.product_price", "\"abc\""), ("product_viewed", "properties.product_name", "{}"),
        ("checkout_started", "properties.total", "\"abc\""),
        ("order_status_changed", "properties.status", "\"PERDIDO\""), ("order_status_changed", "properties.status", "5"),
        ("order_status_changed", "properties.status", "null"),
        ("order_delivered", "properties.snapshot", "\"x\""), ("order_delivered", "properties.snapshot", "5"),
        ("order_delivered", "properties.snapshot.total", "\"abc\""),
        ("payment_succeeded", "properties.amount", "\"abc\""), ("payment_failed", "properties.currency", "5"),
        ("subscription_charged", "properties.amount", "\"abc\""), ("store_created", "properties.store_id", "{}"),
        ("product_searched", "properties.query", "{}"), ("product_searched", "properties.query", "[]"),
        ("lead_created", "properties.lead_id", "{}"), ("user_signed_up", "user_id", "{}"), ("user_signed_up", "user_id", "[]"),
    ];

    private void WrongTypes()
    {
        foreach (var (templateName, path, value) in TypeMutations)
        {
            for (var variant = 0; variant < 2; variant++)
            {
                var template = templateName == "*" ? AnyTemplate() : SampleEvents.Template(templateName);
                var count = variant == 0 ? 1 : _random.Next(2, 4);
                var events = Enumerable.Range(0, count)
                    .Select(_ => SampleEvents.Set(template.Build(NextId()), path, JsonNode.Parse(value)))
                    .ToList();
                var body = count == 1 ? SampleEvents.Utf8(events[0]) : SampleEvents.Utf8(new JsonArray([.. events]));
                Native("wrong-type", $"{template.Name} {path} = {Shorten(value)} ({count} event{(count == 1 ? "" : "s")})", body, Malformed);
            }
        }
    }

    private void MissingFields()
    {
        foreach (var template in SampleEvents.Templates)
        {
            foreach (var path in SampleEvents.EnvelopeFields.Concat(template.Required))
            {
                var single = SampleEvents.Remove(template.Build(NextId()), path);
                Native("missing", $"{template.Name} without {path}", SampleEvents.Utf8(single), Malformed);
                var count = _random.Next(2, 5);
                var events = Enumerable.Range(0, count).Select(_ => (JsonNode)SampleEvents.Remove(template.Build(NextId()), path)).ToArray();
                var ndjson = _random.Next(2) == 0;
                Native("missing", $"{count} × {template.Name} without {path} as {(ndjson ? "NDJSON" : "an array")}",
                    ndjson ? SampleEvents.Ndjson(events) : SampleEvents.Utf8(new JsonArray(events)), Malformed,
                    ndjson ? NdjsonType : Json);
            }
        }
    }

    private void DeepNesting()
    {
        Native("deep", "custom properties.x 10,000 nested arrays", WithRaw(SampleEvents.Custom(NextId()), "properties.x", Deep(10_000, arrays: true)), EventTooLarge);
        Native("deep", "custom properties.x 10,000 nested objects", WithRaw(SampleEvents.Custom(NextId()), "properties.x", Deep(10_000, arrays: false)), EventTooLarge);
        Native("deep", "custom properties.x 1,000 nested arrays", WithRaw(SampleEvents.Custom(NextId()), "properties.x", Deep(1_000, arrays: true)), EventTooLarge);
        Native("deep", "custom properties.x 1,000 nested objects", WithRaw(SampleEvents.Custom(NextId()), "properties.x", Deep(1_000, arrays: false)), EventTooLarge);
        Native("deep", "page_view context.x 10,000 nested arrays", WithRaw(SampleEvents.PageView(NextId()), "context.x", Deep(10_000, arrays: true)), EventTooLarge);
        Native("deep", "body of 10,000 nested arrays", Encoding.ASCII.GetBytes(Deep(10_000, arrays: true)), EventTooLarge);
        Native("deep", "body of 10,000 nested objects", Encoding.ASCII.GetBytes(Deep(10_000, arrays: false)), EventTooLarge);
        Native("deep", "body of 100,000 unclosed arrays", Encoding.ASCII.GetBytes(new string('[', 100_000)), EventTooLarge);
        Native("deep", "body of 10,000 unclosed objects", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 10_000))), EventTooLarge);
        Native("deep", "NDJSON line with properties.x 10,000 nested arrays",
            [.. WithRaw(SampleEvents.Custom(NextId()), "properties.x", Deep(10_000, arrays: true)), (byte)'\n'], EventTooLarge, NdjsonType);
        Segment("deep", "segment track properties.x 10,000 nested arrays", "track",
            WithRaw(SampleEvents.SegmentTrack(NextId()), "properties.x", Deep(10_000, arrays: true)), EventTooLarge);
        Segment("deep", "segment batch of 10,000 nested arrays", "batch",
            Encoding.ASCII.GetBytes("{\"batch\":" + Deep(10_000, arrays: true) + "}"), EventTooLarge);
        for (var i = 0; i < 18; i++)
        {
            var depth = _random.Next(1_000, 50_001);
            var arrays = _random.Next(2) == 0;
            var kind = arrays ? "arrays" : "objects";
            switch (_random.Next(3))
            {
                case 0:
                    Native("deep", $"custom properties.x {depth:N0} nested {kind}", WithRaw(SampleEvents.Custom(NextId()), "properties.x", Deep(depth, arrays)), EventTooLarge);
                    break;
                case 1:
                    Native("deep", $"purchase items[0].price {depth:N0} nested {kind}", WithRaw(SampleEvents.Purchase(NextId()), "properties.items[0].price", Deep(depth, arrays)), EventTooLarge);
                    break;
                default:
                    Native("deep", $"array holding an event and {depth:N0} nested {kind}",
                        Encoding.UTF8.GetBytes("[" + SampleEvents.Text(SampleEvents.Custom(NextId())) + "," + Deep(depth, arrays) + "]"), EventTooLarge);
                    break;
            }
        }
    }

    private static readonly byte[][] InvalidSequences =
    [
        [0xFF], [0xFE], [0xC0, 0x80], [0xC1, 0xBF], [0x80], [0xBF], [0xE2, 0x82], [0xED, 0xA0, 0x80],
        [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE0, 0x80, 0xAF], [0xF0, 0x8F, 0xBF, 0xBF],
    ];

    private void InvalidUtf8()
    {
        var placements = new (string Where, Func<string, JsonObject> Build)[]
        {
            ("custom properties.note", id => SampleEvents.Set(SampleEvents.Custom(id), "properties.note", "ab" + Marker + "cd")),
            ("custom event_type", id => SampleEvents.Set(SampleEvents.Custom(id), "event_type", "my_custom" + Marker)),
            ("page_view context.page_url", id => SampleEvents.Set(SampleEvents.PageView(id), "context.page_url", "https://shop.example/" + Marker)),
            ("custom property name", id => SampleEvents.Set(SampleEvents.Custom(id), "properties.no" + Marker + "te", "x")),
            ("event_id", id => SampleEvents.Set(SampleEvents.Custom(id), "event_id", id + Marker)),
            ("purchase currency", id => SampleEvents.Set(SampleEvents.Purchase(id), "properties.currency", "MX" + Marker)),
            ("product_searched query", id => SampleEvents.Set(SampleEvents.Template("product_searched").Build(id), "properties.query", Marker + "tacos")),
        };
        foreach (var sequence in InvalidSequences)
        {
            var hex = Convert.ToHexString(sequence);
            foreach (var (where, build) in placements)
            {
                Native("utf8", $"0x{hex} in {where}", Splice(SampleEvents.Text(build(NextId())), sequence), Malformed);
            }
            var lines = Enumerable.Range(0, _random.Next(1, 4))
                .SelectMany(_ => Splice(SampleEvents.Text(placements[0].Build(NextId())), sequence).Append((byte)'\n'))
                .ToArray();
            Native("utf8", $"0x{hex} in every NDJSON line", lines, Malformed, NdjsonType);
            var track = SampleEvents.SegmentTrack(NextId());
            track["properties"]!["coupon"] = "HO" + Marker;
            Segment("utf8", $"0x{hex} in segment track properties.coupon", "track", Splice(SampleEvents.Text(track), sequence), Malformed);
        }
    }

    private void NonFiniteAmounts()
    {
        string[] literals = ["1e400", "-1e400", "1E+400", "1" + new string('0', 400), "-" + new string('9', 400)];
        foreach (var (templateName, path) in SampleEvents.MoneyFields)
        {
            foreach (var literal in literals)
            {
                var node = SampleEvents.Template(templateName).Build(NextId());
                Native("non-finite", $"{templateName} {path} = {Shorten(literal)}", WithRaw(node, path, literal), Malformed);
            }
        }
        foreach (var (templateName, path) in new[] { ("purchase_completed", "properties.items[0].quantity"), ("add_to_cart", "properties.quantity") })
        {
            foreach (var literal in new[] { "1e400", "-1e400" })
            {
                Native("non-finite", $"{templateName} {path} = {literal}", WithRaw(SampleEvents.Template(templateName).Build(NextId()), path, literal), Malformed);
            }
        }
    }

    private void EmptyAndBare()
    {
        string[] native =
        [
            "", " ", "\n\t \r\n", "null", "\"hello\"", "42", "-1", "true", "false", "[null]", "[1,2,3]", "[\"a\",\"b\"]",
            "[[]]", "[{}]", "{}", "[null,{}]", "\uFEFFnull", "\uFEFF", "nul", "NaN", "undefined", "{\"event_id\":", "[,]", "{,}",
        ];
        foreach (var body in native)
        {
            Native("empty-or-bare", $"native body {Shorten(body)}", Encoding.UTF8.GetBytes(body), Malformed);
        }
        foreach (var body in new[] { "null\n", "42\n", "\"x\"\n", "{}\n", "true\nfalse\n", "{}\n{}\n" })
        {
            Native("empty-or-bare", $"NDJSON body {Shorten(body)}", Encoding.UTF8.GetBytes(body), Malformed, NdjsonType);
        }
        foreach (var body in new[] { "", "null", "\"x\"", "42", "[]", "{}", "{\"batch\":null}", "{\"batch\":{}}", "{\"batch\":\"x\"}", "{\"batch\":[null]}", "{\"batch\":[1,2]}" })
        {
            Segment("empty-or-bare", $"segment batch body {Shorten(body)}", "batch", Encoding.UTF8.GetBytes(body), Malformed);
        }
        foreach (var body in new[] { "", "null", "42", "[]", "{}", "\"track\"" })
        {
            Segment("empty-or-bare", $"segment track body {Shorten(body)}", "track", Encoding.UTF8.GetBytes(body), Malformed);
        }
    }

    private void BrokenNdjson()
    {
        for (var i = 0; i < 60; i++)
        {
            var count = _random.Next(1, 7);
            var breaks = new List<string>();
            using var body = new MemoryStream();
            var newline = _random.Next(4) == 0 ? "\r\n"u8.ToArray() : "\n"u8.ToArray();
            for (var line = 0; line < count; line++)
            {
                var (name, bytes) = BrokenLine();
                breaks.Add(name);
                body.Write(bytes);
                body.Write(newline);
            }
            Native("ndjson", $"{count} broken line{(count == 1 ? "" : "s")}: {string.Join(", ", breaks)}", body.ToArray(), Malformed, NdjsonType);
        }
    }

    private (string Name, byte[] Bytes) BrokenLine()
    {
        var text = SampleEvents.Text(AnyTemplate().Build(NextId()));
        switch (_random.Next(10))
        {
            case 0:
                var cut = _random.Next(1, text.Length);
                return ($"cut at {cut}", Encoding.UTF8.GetBytes(text[..cut]));
            case 1:
                return ("trailing garbage", Encoding.UTF8.GetBytes(text + " x"));
            case 2:
                return ("leading comma", Encoding.UTF8.GetBytes("," + text));
            case 3:
                return ("two objects on one line", Encoding.UTF8.GetBytes(text + SampleEvents.Text(AnyTemplate().Build(NextId()))));
            case 4:
                return ("}{", "}{"u8.ToArray());
            case 5:
                return ("single quotes", Encoding.UTF8.GetBytes(text.Replace('"', '\'')));
            case 6:
                return ("unquoted key", Encoding.UTF8.GetBytes(text.Replace("\"event_id\"", "event_id", StringComparison.Ordinal)));
            case 7:
                return ("invalid UTF-8", Splice(SampleEvents.Text(SampleEvents.Set(SampleEvents.Custom(NextId()), "properties.note", Marker)), [0xC3, 0x28]));
            case 8:
                return ("trailing comma", Encoding.UTF8.GetBytes(text[..^1] + ",}"));
            default:
                return ("NaN", "NaN"u8.ToArray());
        }
    }

    private string NextId() => $"bad-{++_ids:00000}";

    private EventTemplate AnyTemplate() => SampleEvents.Templates[_random.Next(SampleEvents.Templates.Count)];

    private (string, byte[]) SingleEvent()
    {
        var template = AnyTemplate();
        return ($"{template.Name} event", SampleEvents.Utf8(template.Build(NextId())));
    }

    private (string, byte[]) EventArray(int count)
    {
        var events = Enumerable.Range(0, count).Select(_ => (JsonNode)AnyTemplate().Build(NextId())).ToArray();
        return ($"array of {count} events", SampleEvents.Utf8(new JsonArray(events)));
    }

    private (string, byte[]) PurchaseWithItems(int count)
    {
        var purchase = SampleEvents.Purchase(NextId());
        var items = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            items.Add(new JsonObject { ["product_id"] = $"p-{i}", ["quantity"] = _random.Next(1, 5), ["price"] = _random.Next(100, 99_999) / 100.0 });
        }
        purchase["properties"]!["items"] = items;
        return ($"purchase with {count} items", SampleEvents.Utf8(purchase));
    }

    private JsonObject SegmentBatch(int count) => new()
    {
        ["batch"] = new JsonArray([.. Enumerable.Range(0, count).Select(_ => (JsonNode)SampleEvents.SegmentTrack(NextId()))]),
        ["sentAt"] = SampleEvents.Timestamp,
    };

    private void Native(string category, string description, byte[] body, IReadOnlyList<int> expected, string? contentType = Json) =>
        Add(new BadRequest($"{category}/{_cases.Count:0000} {description}", "api/events", body, contentType, NativeAuthorization, expected));

    private void Segment(string category, string description, string call, byte[] body, IReadOnlyList<int> expected, string? contentType = Json) =>
        Add(new BadRequest($"{category}/{_cases.Count:0000} {description}", "v1/" + call, body, contentType, SegmentAuthorization, expected));

    private void Add(BadRequest request) => _cases.Add(request);

    /// <summary>The event's JSON with the value at <paramref name="path"/> replaced by raw JSON text.</summary>
    private static byte[] WithRaw(JsonObject node, string path, string raw)
    {
        SampleEvents.Set(node, path, Marker);
        return Encoding.UTF8.GetBytes(SampleEvents.Text(node).Replace($"\"{Marker}\"", raw, StringComparison.Ordinal));
    }

    /// <summary>The text as UTF-8 with the marker replaced by raw bytes.</summary>
    private static byte[] Splice(string text, byte[] bytes)
    {
        var at = text.IndexOf(Marker, StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(text[..at]), .. bytes, .. Encoding.UTF8.GetBytes(text[(at + Marker.Length)..])];
    }

    private static string Deep(int depth, bool arrays) => arrays
        ? new string('[', depth) + new string(']', depth)
        : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    private static string Shorten(string text) =>
        (text.Length <= 40 ? text : text[..20] + $"…({text.Length} chars)").Replace("\n", "\\n", StringComparison.Ordinal)
            .Replace("\r", "\\r", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal).Replace("\uFEFF", "<BOM>", StringComparison.Ordinal);
}
