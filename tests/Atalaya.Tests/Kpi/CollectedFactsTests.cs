using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// On the commit path the KPI projection applies the facts the collector's single pass noted
/// instead of reading each stored event again. Those facts must be exactly what
/// <see cref="StoredEventReader"/> reads from the stored bytes (<see cref="FactsOracle"/>), for
/// every event type, the generated demo data, the edge dataset and shapes chosen to trip the
/// mirroring (escapes, repeats, long text, odd types). The single-pass tests check the same on
/// thousands of randomly broken bodies.
/// </summary>
public sealed class CollectedFactsTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "atalaya-facts-" + Guid.NewGuid().ToString("N"));
    private Hub _hub = null!;

    public Task InitializeAsync()
    {
        _hub = Hub.Open(_directory);
        _hub.Log.Stores.Set(new StoreDimension("st-1", "Taquería", "MX", "cdmx-norte", "z1", "restaurant", 0));
        _hub.Log.Stores.Set(new StoreDimension("st-2", "T2", "unknown", "", "Zoná \"x\"", "cat\u2028x", 0));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Facts_of_every_catalog_type_are_what_the_stored_event_reader_reads()
    {
        var oracle = new FactsOracle();
        var events = EventCatalog.Default.Types.Select(t => Events.Valid(t.Type, "t-" + t.Type)).ToList();
        foreach (var e in events.Select(e => (JsonObject)e.DeepClone()).ToList())
        {
            e["event_id"] = "store-" + e["event_id"];
            if (e["properties"] is JsonObject properties && !properties.ContainsKey("store_id"))
            {
                properties["store_id"] = "st-1";
            }
            // No context from the client, or one the store's dimensions are spliced into.
            var type = EventCatalog.Default.Types.Single(t => t.Type == e["event_type"]!.GetValue<string>());
            if (type.Context.Any(f => f.Required))
            {
                e["context"] = new JsonObject { ["page_url"] = "https://shop.example/" };
            }
            else
            {
                e.Remove("context");
            }
            events.Add(e);
        }

        await PostAsync(oracle, events.Select(e => e.ToJsonString()));

        // Only store_created (twice) is left to the document path and inventory_snapshot (twice) to the stored JSON, hence read from JSON.
        Assert.Equal(events.Count - 4, oracle.Compared);
    }

    [Fact]
    public async Task Facts_of_the_generated_demo_data_are_what_the_stored_event_reader_reads()
    {
        var oracle = new FactsOracle();
        var lines = DemoGenerator.Generate(new DemoOptions(Days: 12, Seed: 5, EndDate: new DateOnly(2026, 3, 31), SessionsPerDay: 120))
            .Select(Encoding.UTF8.GetString).ToList();

        await PostAsync(oracle, lines);

        Assert.Equal(lines.Count, oracle.Seen);
        Assert.True(oracle.Compared > lines.Count * 0.9, $"{oracle.Compared} of {lines.Count} events had complete facts");
    }

    [Fact]
    public async Task Facts_of_the_edge_dataset_are_what_the_stored_event_reader_reads()
    {
        var oracle = new FactsOracle();
        foreach (var batch in EdgeDataset.Batches())
        {
            await PostAsync(oracle, batch.Select(e => e.ToJsonString()));
        }

        Assert.True(oracle.Compared > oracle.Seen / 2, $"{oracle.Compared} of {oracle.Seen} events had complete facts");
    }

    [Fact]
    public async Task Facts_of_unusual_shapes_are_what_the_stored_event_reader_reads()
    {
        var oracle = new FactsOracle();
        var longText = new string('a', 1500);
        string Event(string id, string type, string context, string properties, string extra = "") =>
            $$"""{"event_id":"{{id}}","event_type":"{{type}}","timestamp":"2026-03-01T12:00:00.5Z"{{extra}},"context":{{context}},"properties":{{properties}}}""";
        var events = new[]
        {
            // Escapes, long text and dimensions in an order of their own (new values interned as met).
            Event("e1", "page_view", """{"page_url":"https://x/","app_id":"a\u0031","zone":"z-new","source":"go\u006fgle","country":"CO","platform":"ios","hub":"h-new"}""", "{}",
                ""","session_id":"s-\u0031","anonymous_id":"anon-1" """),
            Event("e2", "page_view", $$"""{"page_url":"https://x/","source":"{{longText}}","category":"{{longText}}é"}""", "{}", ""","user_id":"ü-\"1\"" """),
            Event("e3", "product_viewed", """{"country":"MX"}""",
                $$"""{"product_id":"{{longText}}","product_name":"Caf\u00e9 \"x\" ✓","product_price":1,"product_category":"food","store_name":"T2","store_id":"st-2"}"""),
            Event("e4", "thing_viewed", "{}", """{"product_id":"p-9","product_name":7,"store_id":"st-1"}"""),
            // Repeats: the reader interns every occurrence.
            Event("e5", "page_view", """{"page_url":"https://x/","source":"a","source":"b"}""", "{}"),
            Event("e6", "store_visited", "{}", """{"store_id":"st-1","store_id":"st-2"}"""),
            // Items and products in either order, odd members, odd values.
            Event("e7", "purchase_completed", "{}",
                """{"order_id":"o-7","items":[{"product_id":"p-b","quantity":2,"price":3,"x":{"product_id":"no"}},{"price":2.5,"product_id":"p-a","quantity":3}],"product_id":"p-c","store_id":"st-1","total":10,"subtotal":10,"delivery_fee":0,"currency":"MXN","fx_rate_to_reporting":0.0551}"""),
            Event("e8", "checkout_started", "{}", """{"product_id":"p-z","items":[{"product_id":"p-y"},{"product_id":5}],"total":3.25,"store_id":"st-1"}"""),
            // Custom types: any shape the reader must take as it is.
            Event("e9", "thing_happened", "{}", """{"total":1e400,"store_id":"st-1"}"""),
            Event("e10", "thing_happened", "{}", """{"amount":{"a":1},"store_id":"st-1","order_id":"o-10"}"""),
            Event("e11", "thing_happened", "{}", """{"status":"ENTREGAD\u004f","snapshot":{"total":5,"commission_amount":1.5,"total":6},"order_id":"o-11"}"""),
            Event("e12", "thing_happened", "{}", """{"items":[{"product_id":"p1","quantity":2,"price":3.5},7],"order_id":"o-12"}"""),
            Event("e13", "thing_happened", "{}", """{"items":[{"product_id":"p1","product_id":"p2"}],"snapshot":[1],"status":["x"]}"""),
            Event("e14", "thing_happened", "{}", """{"items":{"product_id":"p1"},"snapshot":"no","total":"1","amount":null,"product_name":null}"""),
            Event("e15", "thing_happened", "{}", """{"items":[{"qu\u0061ntity":2}],"total":-0.0,"amount":1E2}"""),
            // Money: a frozen rate in the snapshot, an identity rate, a missing rate, a clamped timestamp.
            Event("e16", "order_status_changed", "{}",
                """{"order_id":"o-7","store_id":"st-1","status":"REEMBOLSADO","snapshot":{"subtotal":1,"delivery_fee":0,"discount":0,"tax":0,"total":1,"commission_amount":0.1,"currency":"MXN","fx_rate_to_reporting":0.05}}"""),
            Event("e17", "payment_succeeded", "{}", """{"order_id":"o-7","amount":12.5,"currency":"USD","payment_id":"pay-17","payment_method":"card","provider":"stripe"}"""),
            Event("e18", "subscription_charged", "{}", """{"store_id":"st-2","amount":99,"currency":"EUR","plan":"pro"}"""),
            // The ledger's refund amounts (a number, a string taken as absent, an object the single pass leaves to the reader) and a lead's priority.
            Event("e20", "order_status_changed", "{}",
                """{"order_id":"o-7","store_id":"st-1","status":"REEMBOLSADO","snapshot":{"subtotal":1,"delivery_fee":0,"discount":0,"tax":0,"total":1,"commission_amount":0.1,"refunded_amount":0.5,"commission_reversed":0.05,"currency":"MXN","fx_rate_to_reporting":0.05}}"""),
            Event("e21", "thing_happened", "{}", """{"order_id":"o-21","status":"CANCELADO","snapshot":{"total":3,"refunded_amount":"x","commission_reversed":{"a":1}}}"""),
            Event("e22", "lead_created", "{}", """{"lead_id":"l-22","source":"web","priority":"urgent"}"""),
            Event("e19", "payment_failed", "{}", """{"order_id":"o-19","amount":1,"currency":"MXN","payment_id":"pay-19","payment_method":"card","provider":"stripe","failure_code":"x"}""")
                .Replace("2026-03-01T12:00:00.5Z", "2099-01-01T00:00:00Z", StringComparison.Ordinal),
        };

        await PostAsync(oracle, events);

        Assert.True(oracle.Compared >= 12, $"{oracle.Compared} of {oracle.Seen} events had complete facts");
    }

    /// <summary>Normalizes the events as one request, checks the batch's facts, then stores it (so later requests see its stores).</summary>
    private async Task PostAsync(FactsOracle oracle, IEnumerable<string> events)
    {
        foreach (var chunk in events.Chunk(500))
        {
            using var batch = _hub.Pipeline.NormalizeNative(Encoding.UTF8.GetBytes("[" + string.Join(",", chunk) + "]"), ndjson: false, "test");
            var rejected = string.Join("\n", batch.Rejected.Select(r => $"{r.RequestIndex} {string.Join(", ", r.Errors)}"));
            Assert.True(rejected.Length == 0, rejected);
            oracle.Check(batch);
            await _hub.Log.AppendAsync(batch);
        }
    }
}
