using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.ClickHouse;

/// <summary>
/// The writer's mapper reads a stored event in one forward pass. Held to the plain reading it
/// replaced (<see cref="Reference"/>: a parsed document and lookups by name, as the mapper's
/// documentation describes the row) on every stored event of a generated marketplace and on the
/// odd inputs a dead-letter queue sees: the same row, or the same reason.
/// </summary>
public sealed class StoredEventMapperTests : IDisposable
{
    private readonly TempDirectory _root = new("atalaya-mapper");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Every_stored_event_of_a_marketplace_maps_to_the_row_the_plain_reading_gives()
    {
        var folder = _root["hub"];
        await using (var hub = Hub.Open(folder))
        {
            using var ndjson = new MemoryStream();
            DemoGenerator.WriteNdjson(new DemoOptions(Days: 8, Seed: 41, SessionsPerDay: 80), ndjson);
            ndjson.Position = 0;
            var summary = await NdjsonImporter.ImportAsync(hub.Pipeline, ndjson, "demo");
            Assert.Equal(0, summary.Rejected);
        }
        var stored = StoredEvents.All(folder);
        Assert.True(stored.Count > 1000, $"{stored.Count} events");
        var kinds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var element in stored)
        {
            ReadOnlyMemory<byte> json = Encoding.UTF8.GetBytes(element.GetRawText());
            var row = StoredEventMapper.TryMap(json, out var reason);
            Assert.Null(reason);
            Assert.Equal(Reference(json, out _), row);
            kinds.Add(row!.EventType);
        }
        // The money columns were exercised: orders, payments, refunds and status snapshots.
        Assert.Superset(new HashSet<string>(["purchase_completed", "payment_succeeded", "order_status_changed"], StringComparer.Ordinal), kinds);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("[1, 2]")]
    [InlineData("{\"event_id\": \"a\"")]
    [InlineData("{\"event_id\": \"a\"} x")]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("{\"event_id\": 7, \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\"}")]
    [InlineData("{\"event_id\": \"a\", \"timestamp\": \"2026-01-01T00:00:00Z\"}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": 1767225600}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"1969-12-31T23:59:59Z\"}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2107-01-01T00:00:00Z\"}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\", \"received_at\": 5, \"catalog_version\": -1, \"fx_rate_to_reporting\": \"0.1\"}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\", \"catalog_version\": 99999999999, \"context\": [\"country\"], \"properties\": \"p\"}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\", \"context\": {\"country\": \"MX\", \"hub\": 3, \"zone\": null, \"extra\": {\"country\": \"CO\"}}}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\", \"properties\": {\"total\": \"12\", \"amount\": 3.455, \"currency\": \"KWD\"}}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\", \"properties\": {\"snapshot\": {\"total\": 1200.5, \"currency\": \"CLP\"}, \"currency\": \"MXN\"}}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\", \"currency\": \"JPY\", \"properties\": {\"total\": 10.5, \"currency\": \"USD\"}}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\", \"properties\": {\"total\": 1e30}}")]
    [InlineData("{\"event_id\": \"a\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00Z\", \"properties\": {\"total\": 92233720368547758.07}}")]
    [InlineData("{\"event_id\": \"a\\u00e9\", \"event_type\": \"x\", \"timestamp\": \"2026-01-01T00:00:00.123+02:00\", \"user_id\": \"u\\\"1\", \"properties\": {\"store_id\": \"s\", \"order_id\": \"o\", \"nested\": {\"total\": 5}}}")]
    public void Odd_inputs_give_the_row_or_the_reason_the_plain_reading_gives(string text)
    {
        ReadOnlyMemory<byte> json = Encoding.UTF8.GetBytes(text);

        var row = StoredEventMapper.TryMap(json, out var reason);
        var expected = Reference(json, out var expectedReason);

        Assert.Equal(expected, row);
        if (expectedReason?.StartsWith("not JSON: ", StringComparison.Ordinal) == true)
        {
            // A JSON error's wording comes from the parser (a reader's and a document's differ in position).
            Assert.StartsWith("not JSON: ", reason, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(expectedReason, reason);
        }
    }

    private static readonly DateTimeOffset Earliest = DateTimeOffset.UnixEpoch;
    private static readonly DateTimeOffset Latest = DateTimeOffset.FromUnixTimeSeconds(uint.MaxValue);

    /// <summary>The mapping by the letter of its documentation: a parsed document, each field looked up by name.</summary>
    private static EventRow? Reference(ReadOnlyMemory<byte> stored, out string? reason)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(stored);
        }
        catch (JsonException e)
        {
            reason = $"not JSON: {e.Message}";
            return null;
        }
        using (document)
        {
            var e = document.RootElement;
            if (e.ValueKind != JsonValueKind.Object)
            {
                reason = "not a JSON object";
                return null;
            }
            var eventId = Text(e, "event_id");
            if (eventId.Length == 0)
            {
                reason = "no event_id";
                return null;
            }
            var eventType = Text(e, "event_type");
            if (eventType.Length == 0)
            {
                reason = $"event {eventId} has no event_type";
                return null;
            }
            if (!e.TryGetProperty("timestamp", out var time) || time.ValueKind != JsonValueKind.String || !time.TryGetDateTimeOffset(out var timestamp))
            {
                reason = $"event {eventId} has no timestamp";
                return null;
            }
            if (timestamp < Earliest || timestamp > Latest)
            {
                reason = $"event {eventId}'s timestamp {timestamp:O} is outside 1970–2106, which ClickHouse's DateTime cannot hold";
                return null;
            }
            DateTimeOffset? receivedAt = e.TryGetProperty("received_at", out var received) && received.ValueKind == JsonValueKind.String
                && received.TryGetDateTimeOffset(out var at) && at >= Earliest && at <= Latest ? at : null;
            var context = Child(e, "context");
            var properties = Child(e, "properties");
            var snapshot = Child(properties, "snapshot");
            var (money, moneyCurrency) = Money(properties, "total") ?? Money(properties, "amount") ?? Money(snapshot, "total") ?? (0m, "");
            var currency = Text(e, "currency") is { Length: > 0 } top ? top : moneyCurrency;
            var scale = currency is "CLP" or "JPY" ? 1m : currency is "KWD" or "BHD" ? 1000m : 100m;
            long amount;
            try
            {
                amount = decimal.ToInt64(Math.Round(money * scale, MidpointRounding.AwayFromZero));
            }
            catch (OverflowException)
            {
                reason = $"event {eventId}'s amount {money} does not fit 64-bit minor units";
                return null;
            }
            reason = null;
            return new EventRow(eventId, eventType, timestamp, receivedAt, Text(e, "source_system"),
                e.TryGetProperty("catalog_version", out var version) && version.TryGetInt64(out var v) && v is >= 0 and <= uint.MaxValue ? v : 0,
                Text(context, "country"), Text(context, "hub"), Text(context, "zone"), Text(context, "category"),
                Text(properties, "store_id"), Text(e, "user_id"), Text(e, "anonymous_id"), Text(e, "session_id"), Text(properties, "order_id"),
                amount, currency,
                e.TryGetProperty("fx_rate_to_reporting", out var fx) && fx.ValueKind == JsonValueKind.Number ? fx.GetDouble() : 0,
                stored);
        }
    }

    private static (decimal Value, string Currency)? Money(JsonElement owner, string name) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            && value.TryGetDecimal(out var money)
            ? (money, Text(owner, "currency"))
            : null;

    private static JsonElement Child(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var child) && child.ValueKind == JsonValueKind.Object ? child : default;

    private static string Text(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : "";
}
