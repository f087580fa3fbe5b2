using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Collect;

/// <summary>
/// The collector reads most events in one forward pass and hands whatever that pass does not
/// settle to the document path (<see cref="EventNormalizer"/> over a <see cref="JsonDocument"/>),
/// which is the specification. These tests give both the same bodies (valid events of every type,
/// enrichment variants, thousands of seeded random breakages) and require the same stored bytes,
/// id hashes, timestamps and rejections, or the same refusal of the whole body. The facts the
/// single pass notes for the KPI projection must be what the stored-event reader reads from the
/// stored bytes (<see cref="FactsOracle"/>).
/// </summary>
public sealed class SinglePassTests : IAsyncLifetime
{
    private static readonly string[] Agents =
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "something-unrecognisable/1.0",
        "",
    ];

    private static readonly (string Name, string[] Values)[] DerivedFields =
    [
        ("device_type", ["mobile", "tablet"]), ("os", ["iOS"]), ("browser", ["Safari"]), ("country", ["MX", "CO"]), ("hub", ["h1"]), ("zone", ["z9"]), ("category", ["c1"]),
    ];

    private static readonly string[] StoreIds = ["st-1", "st-2", "st-3", "st-none"];

    /// <summary>Raw JSON values a breakage puts in place of a member: wrong types, edge numbers, escapes, odd timestamps.</summary>
    private static readonly string[] RawValues =
    [
        "null", "\"\"", "\"x\"", "0", "2", "-1", "2.5", "2.0", "1e2", "1E+2", "1e-3", "0.0550", "1e40", "99999999999999999999999999999999",
        "true", "{}", "[]", "[1]", "{\"a\":1}", "\"2\"", "\"MXN\"", "\"mxn\"", "\"\\u004dXN\"", "\"USD\"", "\"EUR\"", "\"MX\"",
        "\"\\u00e9\"", "\"\\ud800\"", "\"a\\\"b\"", "\"é✓\"", "\"st-1\"", "\"st-\\u0031\"", "\"mobile\"", "\"Mobile\"", "\"ENTREGADO\"",
        "\"ENTREGAD\\u004f\"", "\"2026-03-01T12:00:00+01:00\"", "\"2026-03-01T12:00:00+0100\"", "\"2026-03-01T12:00:00\"",
        "\"2026-03-01T12:00:00.1234567Z\"", "\"2026-03-01t12:00:00z\"", "\"1999-12-31T23:59:59Z\"", "\"2030-01-01T00:00:00Z\"",
        "\"page_view\"", "\"Page_View\"", "\"custom_thing\"", "\"order_status_changed\"", "\"store_created\"",
    ];

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "atalaya-single-pass-" + Guid.NewGuid().ToString("N"));
    private Hub _hub = null!;
    private EventNormalizer _documentPath = null!;
    private readonly FactsOracle _facts = new();

    public Task InitializeAsync()
    {
        _hub = Hub.Open(_directory, time: new FixedClock());
        _hub.Log.Stores.Set(new StoreDimension("st-1", "Taquería", "MX", "cdmx-norte", "z1", "restaurant", 0));
        _hub.Log.Stores.Set(new StoreDimension("st-2", "T2", "unknown", null, "Zoná \"x\" <b>", "cat\u2028x", 0));
        _hub.Log.Stores.Set(new StoreDimension("st-3", null, null, "unknown", null, "ñ", 0));
        _hub.Fx.Set("MXN", new DateOnly(2026, 1, 1), 0.05m);
        _documentPath = new EventNormalizer(EventCatalog.Default, _hub.Log.Stores, _hub.Fx, _hub.Pipeline.Options);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Stores_valid_and_enriched_events_of_every_type_as_the_document_path_does()
    {
        var random = new Random(1);
        var events = Templates();
        for (var i = 0; i < 300; i++)
        {
            events.Add(Enriched(events[random.Next(EventCatalog.Default.Types.Count)], $"enriched-{i}", random));
        }
        foreach (var e in events)
        {
            AssertSameOutcome(e.ToJsonString(), ndjson: false);
        }
        var all = new JsonArray([.. events.Select(e => e.DeepClone())]).ToJsonString();
        Assert.Equal(events.Count, AssertSameOutcome(all, ndjson: false).Count(line => line.StartsWith('E')));
        AssertSameOutcome(string.Join('\n', events.Select(e => e.ToJsonString())), ndjson: true);
    }

    [Fact]
    public void Decides_thousands_of_broken_and_unusual_events_as_the_document_path_does()
    {
        var random = new Random(2);
        var templates = Templates();
        for (var m = 0; m < 1500; m++)
        {
            var texts = Enumerable.Range(0, random.Next(1, 5))
                .Select(k => Broken(Enriched(templates[random.Next(templates.Count)], $"m-{m}-{k}", random), random))
                .ToList();
            AssertSameOutcome("[" + string.Join(",\n ", texts) + "]", ndjson: false);
            AssertSameOutcome(texts[0], ndjson: false);
            AssertSameOutcome(string.Join("\r\n", texts.Select(t => t.Replace('\n', ' '))), ndjson: true);
        }
        Assert.True(_facts.Compared > 1000, $"facts compared for {_facts.Compared} of {_facts.Seen} stored events");
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("[] x")]
    [InlineData("42")]
    [InlineData("[1, \"a\", null, [], {}]")]
    [InlineData("[{\"event_id\":\"a\"}, {\"event_id\":")]
    [InlineData("{\"event_id\":\"a\",\"event_type\":\"page_view\",\"timestamp\":\"2026-03-01T12:00:00Z\"} {}")]
    public void Refuses_or_rejects_odd_bodies_as_the_document_path_does(string body)
    {
        AssertSameOutcome(body, ndjson: false);
        AssertSameOutcome(body, ndjson: true);
    }

    private List<string> AssertSameOutcome(string body, bool ndjson)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var expected = Outcome(() => DocumentPath(bytes, ndjson));
        var actual = Outcome(() =>
        {
            var batch = _hub.Pipeline.NormalizeNative(bytes, ndjson, "test");
            _facts.Check(batch);
            return batch;
        });
        Assert.True(expected.SequenceEqual(actual),
            $"Body: {body}\nDocument path:\n  {string.Join("\n  ", expected)}\nSingle pass:\n  {string.Join("\n  ", actual)}");
        return expected;
    }

    /// <summary>The collector before the single pass: each event parsed into a document, then normalized.</summary>
    private AppendBatch DocumentPath(byte[] body, bool ndjson)
    {
        var options = _hub.Pipeline.Options;
        var batch = new AppendBatch("test", FixedClock.Now.ToUnixTimeMilliseconds(), body.Length);
        var writer = new Utf8JsonWriter(batch.Buffer, EventNormalizer.WriterOptions);
        var stores = new BatchStores();
        try
        {
            if (!ndjson)
            {
                using var document = IngestPipeline.ParseJson(body, options.MaxJsonDepth);
                var root = document.RootElement;
                JsonElement[] elements = root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : [root];
                if (root.ValueKind is not (JsonValueKind.Array or JsonValueKind.Object) || elements.Length == 0)
                {
                    throw new MalformedBodyException("refused");
                }
                for (var i = 0; i < elements.Length; i++)
                {
                    _documentPath.Normalize(elements[i], i, batch, writer, stores);
                }
                return batch;
            }
            var lines = Lines(body);
            if (lines.Count == 0)
            {
                throw new MalformedBodyException("refused");
            }
            for (var i = 0; i < lines.Count; i++)
            {
                try
                {
                    using var document = JsonDocument.Parse(lines[i], new JsonDocumentOptions { MaxDepth = options.MaxJsonDepth });
                    _documentPath.Normalize(document.RootElement, i, batch, writer, stores);
                }
                catch (JsonException)
                {
                    batch.AddRejected(new QuarantinedEvent(i, null, nameof(RejectReason.Malformed), ["invalid JSON"], ""));
                }
            }
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>Everything an outcome is made of, one line per stored event or rejection, or the refusal.</summary>
    private static List<string> Outcome(Func<AppendBatch> normalize)
    {
        try
        {
            using var batch = normalize();
            var lines = new List<string>();
            foreach (var e in batch.Events)
            {
                lines.Add($"E {e.RequestIndex} {e.IdHash} {e.TimestampMs} {e.Store} {Encoding.UTF8.GetString(batch.Json(e))}");
            }
            foreach (var r in batch.Rejected)
            {
                // Malformed NDJSON lines are worded by the pipeline itself, not the path under test.
                var malformedLine = r.Reason == nameof(RejectReason.Malformed) && r.EventId is null && r.Errors is [var only] && only.StartsWith("line ", StringComparison.Ordinal);
                lines.Add(malformedLine || r.Errors is ["invalid JSON"]
                    ? $"R {r.RequestIndex} malformed line"
                    : $"R {r.RequestIndex} {r.EventId} {r.Reason} {string.Join(" | ", r.Errors)} {r.Payload}");
            }
            return lines;
        }
        catch (MalformedBodyException)
        {
            return ["refused"];
        }
    }

    private static List<JsonObject> Templates()
    {
        var templates = EventCatalog.Default.Types.Select(t => Events.Valid(t.Type, "t-" + t.Type)).ToList();
        var withSnapshot = Events.Valid("order_status_changed", "t-snapshot-rate");
        withSnapshot["properties"]!["snapshot"]!["fx_rate_to_reporting"] = 0.0550;
        var table = Events.Valid("payment_succeeded", "t-table-rate");
        var identity = Events.Valid("payment_failed", "t-identity");
        identity["properties"]!["currency"] = "USD";
        var missing = Events.Valid("subscription_charged", "t-missing-rate");
        missing["properties"]!["currency"] = "EUR";
        var frozen = Events.Valid("purchase_completed", "t-frozen");
        frozen["properties"]!["fx_rate_to_reporting"] = 0.055;
        var future = Events.Valid("page_view", "t-future");
        future["timestamp"] = "2026-03-05T00:00:00.250Z";
        var custom = Events.Valid("custom_thing", "t-custom");
        custom["properties"] = new JsonObject { ["store_id"] = "st-1", ["anything"] = new JsonArray(1, "two") };
        return [.. templates, withSnapshot, table, identity, missing, frozen, future, custom];
    }

    /// <summary>A copy with a user agent, some derived fields sent by the client, a store, or no context.</summary>
    private static JsonObject Enriched(JsonObject template, string id, Random random)
    {
        var e = (JsonObject)template.DeepClone();
        e["event_id"] = id;
        if (e["context"] is JsonObject context && random.Next(4) > 0)
        {
            context.Remove("country");
            if (random.Next(3) > 0)
            {
                context["user_agent"] = Agents[random.Next(Agents.Length)];
            }
            foreach (var (name, values) in DerivedFields)
            {
                if (random.Next(3) == 0)
                {
                    context[name] = values[random.Next(values.Length)];
                }
            }
        }
        else if (random.Next(2) == 0 && !(EventCatalog.Default.TryGet(e["event_type"]!.GetValue<string>(), out var rule) && rule.Context.Any(f => f.Required)))
        {
            e.Remove("context");
        }
        if (e["properties"] is JsonObject properties && random.Next(2) == 0)
        {
            properties["store_id"] = StoreIds[random.Next(StoreIds.Length)];
        }
        return e;
    }

    /// <summary>One to three random breakages (a member removed, nulled or replaced, members moved), then maybe one in the text itself.</summary>
    private static string Broken(JsonObject e, Random random)
    {
        var raws = new List<string>();
        string Raw()
        {
            raws.Add(RawValues[random.Next(RawValues.Length)]);
            return $"__RAW_{raws.Count - 1}__";
        }
        for (var a = random.Next(1, 4); a > 0; a--)
        {
            var members = new List<(JsonNode Parent, string? Name, int Index)>();
            Collect(e, members);
            var (parent, name, index) = members[random.Next(members.Count)];
            switch (random.Next(6))
            {
                case 0 when parent is JsonObject owner:
                    owner.Remove(name!);
                    break;
                case 1:
                    if (e["context"] is JsonObject context)
                    {
                        context[DerivedFields[random.Next(DerivedFields.Length)].Name] = Raw();
                    }
                    break;
                case 2:
                    var type = e["event_type"]?.DeepClone();
                    e.Remove("event_type");
                    e["event_type"] = type;
                    break;
                default:
                    if (parent is JsonObject o)
                    {
                        o[name!] = Raw();
                    }
                    else
                    {
                        ((JsonArray)parent)[index] = Raw();
                    }
                    break;
            }
        }
        var text = random.Next(5) == 0 ? e.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) : e.ToJsonString();
        for (var i = 0; i < raws.Count; i++)
        {
            text = text.Replace($"\"__RAW_{i}__\"", raws[i], StringComparison.Ordinal);
        }
        return random.Next(12) switch
        {
            0 => "{\"event_id\":\"dup\"," + text[1..],
            1 => text.Replace("\"event_id\"", "\"event\\u005fid\"", StringComparison.Ordinal),
            2 => text.Replace("\"store_id\":", "\"store_id\":\"st-1\",\"store_id\":", StringComparison.Ordinal),
            3 => text.Replace("\"currency\":", "\"currency\":null,\"currency\":", StringComparison.Ordinal),
            4 => text.Replace("\"quantity\":", "\"qu\\u0061ntity\":", StringComparison.Ordinal),
            5 => text.Replace("\"page_url\":", "\"page_url\":null,\"x\":1,\"page_url\":", StringComparison.Ordinal),
            6 => "{\"sent_at\":1," + text[1..],
            _ => text,
        };
    }

    private static void Collect(JsonNode node, List<(JsonNode, string?, int)> members)
    {
        if (node is JsonObject o)
        {
            foreach (var (name, value) in o.ToList())
            {
                members.Add((o, name, -1));
                if (value is not null)
                {
                    Collect(value, members);
                }
            }
        }
        else if (node is JsonArray a)
        {
            for (var i = 0; i < a.Count; i++)
            {
                members.Add((a, null, i));
                if (a[i] is { } value)
                {
                    Collect(value, members);
                }
            }
        }
    }

    /// <summary>The body's non-blank lines, split as the pipeline splits NDJSON.</summary>
    private static List<ReadOnlyMemory<byte>> Lines(byte[] body)
    {
        var lines = new List<ReadOnlyMemory<byte>>();
        var start = 0;
        while (start < body.Length)
        {
            var end = Array.IndexOf(body, (byte)'\n', start);
            end = end < 0 ? body.Length : end;
            var line = body.AsMemory(start, end - start);
            if (line.Span.Trim((byte)'\r').Trim((byte)' ').Length > 0)
            {
                lines.Add(line);
            }
            start = end + 1;
        }
        return lines;
    }

    /// <summary>A clock stopped at a time after the templates' timestamps, with milliseconds (so received_at has a fraction).</summary>
    private sealed class FixedClock : TimeProvider
    {
        public static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-03-01T12:30:00.123Z", CultureInfo.InvariantCulture);

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
