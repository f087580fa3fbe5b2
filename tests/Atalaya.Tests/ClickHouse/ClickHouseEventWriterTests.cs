using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine.ClickHouse;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.ClickHouse;

/// <summary>
/// The events schema and the exact-once writer against the real ClickHouse server: redelivered,
/// overlapping and self-duplicated batches, the crash between the two inserts, unmappable events,
/// and the columns of events a real hub stored.
/// </summary>
public sealed class ClickHouseEventWriterTests(ClickHouseServer server) : IClassFixture<ClickHouseServer>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task A_redelivered_batch_inserts_nothing()
    {
        var (client, writer) = await NewAsync();
        var batch = Stored(Enumerable.Range(0, 1000).Select(i => Event($"e-{i}", i)));

        var first = await writer.InsertAsync(batch, None);
        var again = await writer.InsertAsync(batch, None);

        Assert.Equal((1000, 0), (first.Inserted, first.Duplicates));
        Assert.Equal((0, 1000), (again.Inserted, again.Duplicates));
        Assert.Equal(1000, await client.ScalarInt64Async("SELECT count() FROM events", None));
        Assert.Equal(1000, await client.ScalarInt64Async("SELECT uniqExact(event_id) FROM events", None));
        Assert.Equal(1000, await client.ScalarInt64Async("SELECT count() FROM event_ids", None));
    }

    [Fact]
    public async Task Ids_with_tabs_newlines_quotes_and_backslashes_are_found_again()
    {
        var (client, writer) = await NewAsync();
        string[] ids = ["tab\there", "new\nline", "back\\slash", "quote'\"", "\\N", "ñ 😀"];
        var batch = Stored(ids.Select((id, i) => Event(id, i)));

        var first = await writer.InsertAsync(batch, None);
        var again = await writer.InsertAsync(batch, None);

        Assert.Equal((ids.Length, 0), (first.Inserted, first.Duplicates));
        Assert.Equal((0, ids.Length), (again.Inserted, again.Duplicates));
        var stored = await ToListAsync(client.QueryAsync("SELECT event_id FROM event_ids", None));
        Assert.Equal(ids.Order(StringComparer.Ordinal), stored.Select(r => r[0]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_batch_overlapping_by_half_inserts_only_the_new_half()
    {
        var (client, writer) = await NewAsync();
        await writer.InsertAsync(Stored(Enumerable.Range(0, 1000).Select(i => Event($"e-{i}", i))), None);

        var overlapping = await writer.InsertAsync(Stored(Enumerable.Range(500, 1000).Select(i => Event($"e-{i}", i))), None);

        Assert.Equal((500, 500), (overlapping.Inserted, overlapping.Duplicates));
        Assert.Equal(1500, await client.ScalarInt64Async("SELECT count() FROM events", None));
        Assert.Equal(1500, await client.ScalarInt64Async("SELECT uniqExact(event_id) FROM events", None));
        var expectedAmount = Enumerable.Range(0, 1500).Sum(i => (long)Amount(i));
        Assert.Equal(expectedAmount, await client.ScalarInt64Async("SELECT sum(amount) FROM events", None));
    }

    [Fact]
    public async Task An_id_twice_in_one_batch_is_inserted_once_as_first_sent()
    {
        var (client, writer) = await NewAsync();
        var first = Event("twice", 1);
        var second = Event("twice", 2);

        var result = await writer.InsertAsync(Stored([first, Event("once", 3), second]), None);

        Assert.Equal((2, 1), (result.Inserted, result.Duplicates));
        Assert.Equal(first.ToJsonString(), await client.ScalarAsync("SELECT payload FROM events WHERE event_id = 'twice'", None));
    }

    [Fact]
    public async Task A_crash_between_the_events_insert_and_the_ids_insert_is_repaired_by_the_redelivery_without_double_counting()
    {
        var (client, writer) = await NewAsync();
        var batch = Stored(Enumerable.Range(0, 300).Select(i => Event($"e-{i}", i)));
        // What a writer that died after its first insert leaves: the rows in events, no ids.
        var rows = batch.Select(b => StoredEventMapper.TryMap(b, out _)!).ToList();
        await client.InsertAsync(EventsSchema.Events, StoredEventMapper.Columns, async (w, ct) =>
        {
            foreach (var row in rows)
            {
                StoredEventMapper.Write(row, w.Row);
                await w.EndRowAsync(ct);
            }
        }, None);
        Assert.Equal(0, await client.ScalarInt64Async("SELECT count() FROM event_ids", None));

        var redelivery = await writer.InsertAsync(batch, None);

        Assert.Equal((0, 300), (redelivery.Inserted, redelivery.Duplicates));
        Assert.Equal(300, await client.ScalarInt64Async("SELECT count() FROM events", None));
        Assert.Equal(300, await client.ScalarInt64Async("SELECT count() FROM event_ids", None));
        // Repaired: a later copy of the same id with another time is found through event_ids.
        var moved = await writer.InsertAsync(Stored([Event("e-7", 7, "2025-01-01T00:00:00Z")]), None);
        Assert.Equal((0, 1), (moved.Inserted, moved.Duplicates));
    }

    [Fact]
    public async Task Events_that_cannot_be_rows_are_reported_by_index_and_the_others_are_inserted()
    {
        var (client, writer) = await NewAsync();
        var noId = Event("x", 1);
        noId.Remove("event_id");
        var ancient = Event("ancient", 2, "1960-01-01T00:00:00Z");
        List<ReadOnlyMemory<byte>> batch =
        [
            Encoding.UTF8.GetBytes(Event("good-1", 1).ToJsonString()),
            Encoding.UTF8.GetBytes("{not json"),
            Encoding.UTF8.GetBytes(noId.ToJsonString()),
            Encoding.UTF8.GetBytes(ancient.ToJsonString()),
            Encoding.UTF8.GetBytes(Event("good-2", 2).ToJsonString()),
        ];

        var result = await writer.InsertAsync(batch, None);

        Assert.Equal((2, 0), (result.Inserted, result.Duplicates));
        Assert.Equal([1, 2, 3], result.Unmappable.Select(u => u.Index));
        Assert.StartsWith("not JSON", result.Unmappable[0].Reason, StringComparison.Ordinal);
        Assert.Equal("no event_id", result.Unmappable[1].Reason);
        Assert.Contains("1970", result.Unmappable[2].Reason, StringComparison.Ordinal);
        Assert.Equal(["good-1", "good-2"], (await ToListAsync(client.QueryAsync("SELECT event_id FROM events ORDER BY event_id", None))).Select(r => r[0]));
    }

    [Fact]
    public async Task A_stopped_server_makes_the_whole_batch_unavailable_so_the_caller_keeps_its_messages()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new ClickHouseClient(new ClickHouseSettings(new Uri($"http://127.0.0.1:{port}"), "nowhere"));

        await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => new ClickHouseEventWriter(client).InsertAsync(Stored([Event("e", 1)]), None));
    }

    [Fact]
    public async Task The_schema_is_created_idempotently_versioned_and_partitioned_by_month()
    {
        var (client, writer) = await NewAsync();
        await EventsSchema.EnsureAsync(client, None);

        Assert.Equal(EventsSchema.Version, await client.ScalarInt64Async("SELECT max(version) FROM schema_version", None));
        await writer.InsertAsync(Stored([Event("nov", 1, "2026-11-30T23:59:59Z"), Event("dec", 2, "2026-12-01T00:00:00Z")]), None);
        var partitions = await ToListAsync(client.QueryAsync(
            $"SELECT DISTINCT partition FROM system.parts WHERE active AND database = {ClickHouseClient.Literal(client.Database)} AND table = 'events' ORDER BY partition", None));
        Assert.Equal(["202611", "202612"], partitions.Select(p => p[0]));
    }

    [Fact]
    public async Task Events_stored_by_a_real_hub_become_rows_with_their_facts_and_their_exact_bytes()
    {
        await using var hub = await TestHub.StartAsync();
        var store = Events.Valid("store_created", "store-1");
        var order = Events.Valid("purchase_completed", "order-1");
        order["timestamp"] = "2026-03-01T12:00:00.250Z";
        order["anonymous_id"] = "anon-1";
        order["properties"]!["total"] = 201.55;
        var emoji = Events.Valid("product_viewed", "viewed-1");
        emoji["properties"]!["product_name"] = "Tacos 🌮 \"al pastor\"\n";
        var body = new JsonArray(store, order, emoji).ToJsonString();
        using var response = await hub.PostEventsAsync(body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var stored = StoredEvents.Query(hub.DataDirectory, "SELECT event FROM raw_events ORDER BY seq");
        Assert.Equal(3, stored.Count);
        var (client, writer) = await NewAsync();

        var result = await writer.InsertAsync(stored.Select(s => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(s)).ToList(), None);

        Assert.Equal(3, result.Inserted);
        foreach (var text in stored)
        {
            // The reference: the facts read here from the stored JSON with JsonNode, independently of the mapper.
            var e = JsonNode.Parse(text)!.AsObject();
            var id = (string)e["event_id"]!;
            var row = (await ToListAsync(client.QueryAsync(
                "SELECT event_type, toString(ts), ts_ms, toString(received_at), source_system, catalog_version, country, hub, zone, category, store_id, " +
                "user_id, anonymous_id, session_id, order_id, amount, currency, hex(payload) " +
                $"FROM events WHERE event_id = {ClickHouseClient.Literal(id)}", None))).Single();
            var time = DateTimeOffset.Parse((string)e["timestamp"]!, CultureInfo.InvariantCulture);
            var context = e["context"]!.AsObject();
            var properties = e["properties"]!.AsObject();
            Assert.Equal((string)e["event_type"]!, row[0]);
            Assert.Equal(time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), row[1]);
            Assert.Equal(time.Millisecond.ToString(CultureInfo.InvariantCulture), row[2]);
            Assert.Equal(DateTimeOffset.Parse((string)e["received_at"]!, CultureInfo.InvariantCulture).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), row[3]);
            Assert.Equal("test", row[4]);
            Assert.Equal(e["catalog_version"]!.ToJsonString(), row[5]);
            Assert.Equal((IEnumerable<string?>)[(string?)context["country"] ?? "", (string?)context["hub"] ?? "", (string?)context["zone"] ?? "", (string?)context["category"] ?? ""], row[6..10]);
            Assert.Equal((string?)properties["store_id"] ?? "", row[10]);
            Assert.Equal((IEnumerable<string?>)[(string?)e["user_id"] ?? "", (string?)e["anonymous_id"] ?? "", (string?)e["session_id"] ?? "", (string?)properties["order_id"] ?? ""], row[11..15]);
            var total = properties["total"] is { } t ? (decimal)t : 0m;
            Assert.Equal(((long)Math.Round(total * 100m, MidpointRounding.AwayFromZero)).ToString(CultureInfo.InvariantCulture), row[15]);
            Assert.Equal((string?)e["currency"] ?? "", row[16]);
            Assert.Equal(Convert.ToHexString(Encoding.UTF8.GetBytes(text)), row[17]);
        }
        // The hub copied the store's dimensions into the order's context: they are columns now.
        Assert.Equal("cdmx-norte", await client.ScalarAsync("SELECT hub FROM events WHERE event_id = 'order-1'", None));
        Assert.Equal("20155", await client.ScalarAsync("SELECT amount FROM events WHERE event_id = 'order-1'", None));
    }

    [Theory]
    [InlineData("MXN", 201.555, 20156)]
    [InlineData("CLP", 15990, 15990)]
    [InlineData("CLP", 15990.5, 15991)]
    [InlineData("KWD", 1.2345, 1235)]
    [InlineData("SEK", -3.5, -350)]
    public void Amounts_are_minor_units_of_their_currency(string currency, double total, long minor)
    {
        var e = Event("m", 1);
        e["currency"] = currency;
        e["properties"] = new JsonObject { ["total"] = JsonValue.Create((decimal)total), ["currency"] = currency };

        var row = StoredEventMapper.TryMap(Encoding.UTF8.GetBytes(e.ToJsonString()), out _)!;

        Assert.Equal(minor, row.Amount);
        Assert.Equal(currency, row.Currency);
    }

    [Fact]
    public async Task Events_stored_before_the_aggregates_existed_are_counted_once_with_those_inserted_after_and_a_second_fill_adds_nothing()
    {
        // A database as the version before the aggregates left it, holding events.
        var client = await server.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(client, KpiAggregatesVersion - 1, None);
        var writer = new ClickHouseEventWriter(client);
        await writer.InsertAsync(Stored(Enumerable.Range(0, 1000).Select(i => Event($"e-{i}", i))), None);

        // The upgrade: the view, then the fill of what was there; then inserts through the view.
        await EventsSchema.EnsureAsync(client, None);
        await writer.InsertAsync(Stored(Enumerable.Range(1000, 1000).Select(i => Event($"e-{i}", i))), None);
        // Another node running the same step again (two nodes starting together both run it).
        foreach (var fill in KpiAggregates.Fills)
        {
            await client.ExecuteAsync(fill, None);
        }

        // The reference: a plain count of the raw rows, per day.
        const string Plain = "SELECT toString(toDate(ts)) AS day, toString(count()), toString(uniqExact(user_id)) FROM events GROUP BY day ORDER BY day";
        const string Aggregated = "SELECT toString(day), toString(uniqExactMerge(events)), toString(uniqExactIfMerge(visitors)) FROM kpi_daily GROUP BY day ORDER BY day";
        var expected = (await ToListAsync(client.QueryAsync(Plain, None))).Select(r => string.Join(' ', r)).ToList();
        Assert.Equal(2, expected.Count); // 2,000 minutes from 2026-12-01 00:00 cross into the 2nd
        Assert.Equal(expected, (await ToListAsync(client.QueryAsync(Aggregated, None))).Select(r => string.Join(' ', r)));
        Assert.Equal(2000, await client.ScalarInt64Async("SELECT uniqExactMerge(events) FROM kpi_daily", None));
        // Each order once, on the UTC day of its purchase, in the events' country.
        var orders = (await KpiAggregates.DailyAsync(client, new DateOnly(2026, 12, 1), new DateOnly(2026, 12, 2), None)).Where(c => c.Metric == "orders").ToList();
        Assert.Equal(["2026-12-01 MX 1440", "2026-12-02 MX 560"], orders.Select(c => $"{c.Day:yyyy-MM-dd} {c.Country} {c.Value}"));
        // Their GMV, exact: the plain decimal sum of total × rate over each day's orders.
        var gmv = (await KpiAggregates.DailyAsync(client, new DateOnly(2026, 12, 1), new DateOnly(2026, 12, 2), None)).Where(c => c.Metric == KpiAggregates.Gmv);
        Assert.Equal(
            [("2026-12-01", Enumerable.Range(0, 1440).Sum(i => Amount(i) / 100m * 0.055m)), ("2026-12-02", Enumerable.Range(1440, 560).Sum(i => Amount(i) / 100m * 0.055m))],
            gmv.Select(c => ($"{c.Day:yyyy-MM-dd}", c.Value)));

        // A month rebuilt from the events (an erasure does it) counts the same.
        await KpiAggregates.RebuildMonthsAsync(client, ["202612"], None);
        Assert.Equal(expected, (await ToListAsync(client.QueryAsync(Aggregated, None))).Select(r => string.Join(' ', r)));
    }

    /// <summary>
    /// An order is its first purchase_completed by event time and, within the same millisecond, by
    /// receipt (the order a node replays events in), whatever order the rows were inserted in; its
    /// country and GMV are that event's. Events with the same time are the case the reference
    /// settles by storage order and a bare time could not.
    /// </summary>
    [Fact]
    public async Task An_order_is_its_first_purchase_by_time_then_by_receipt_and_its_gmv_is_that_events_exact_amount()
    {
        var (client, writer) = await NewAsync();
        JsonObject Purchase(string id, string at, string received, string country, decimal total)
        {
            var e = Event(id, 0, at);
            e["received_at"] = received;
            e["context"]!["country"] = country;
            e["properties"]!["order_id"] = "o-tie";
            e["properties"]!["total"] = total;
            return e;
        }
        // Inserted in three parts, last-received first; the first by receipt is p-b (PE).
        await writer.InsertAsync(Stored([Purchase("p-c", "2026-12-01T10:00:00.001Z", "2026-12-05T20:00:00.000Z", "CL", 30.03m)]), None);
        await writer.InsertAsync(Stored([Purchase("p-a", "2026-12-01T10:00:00.000Z", "2026-12-05T20:00:02.000Z", "CO", 10.01m)]), None);
        await writer.InsertAsync(Stored([Purchase("p-b", "2026-12-01T10:00:00.000Z", "2026-12-05T20:00:01.000Z", "PE", 20.02m)]), None);

        var figures = await KpiAggregates.DailyAsync(client, new DateOnly(2026, 12, 1), new DateOnly(2026, 12, 1), None);
        Assert.Equal(["gmv 2026-12-01 PE 1.1011", "orders 2026-12-01 PE 1"],
            figures.Where(c => c.Metric is "orders" or "gmv").Select(c => $"{c.Metric} {c.Day:yyyy-MM-dd} {c.Country} {c.Value.ToString("0.##########", CultureInfo.InvariantCulture)}").Order(StringComparer.Ordinal));
    }

    /// <summary>The schema version that added <see cref="KpiAggregates"/>.</summary>
    private const int KpiAggregatesVersion = 3;

    private async Task<(ClickHouseClient Client, ClickHouseEventWriter Writer)> NewAsync()
    {
        var client = await server.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(client, None);
        return (client, new ClickHouseEventWriter(client));
    }

    private static int Amount(int i) => i * 37 % 10_000;

    /// <summary>A stored event as the collector writes it (docs/collector.md), one minute apart by <paramref name="i"/>.</summary>
    private static JsonObject Event(string id, int i, string? timestamp = null) => new()
    {
        ["event_id"] = id,
        ["event_type"] = "purchase_completed",
        ["timestamp"] = timestamp ?? new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(i).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
        ["received_at"] = "2026-12-05T20:00:00.000Z",
        ["user_id"] = $"u-{i % 50}",
        ["source_system"] = "web",
        ["catalog_version"] = 3,
        ["context"] = new JsonObject { ["country"] = "MX", ["hub"] = "cdmx" },
        ["properties"] = new JsonObject { ["order_id"] = $"o-{i}", ["store_id"] = "st-1", ["total"] = Amount(i) / 100m, ["currency"] = "MXN" },
        ["currency"] = "MXN",
        ["fx_rate_to_reporting"] = 0.055,
    };

    private static List<ReadOnlyMemory<byte>> Stored(IEnumerable<JsonObject> events) =>
        events.Select(e => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(e.ToJsonString())).ToList();

    private static async Task<List<string?[]>> ToListAsync(IAsyncEnumerable<string?[]> rows)
    {
        var list = new List<string?[]>();
        await foreach (var row in rows)
        {
            list.Add(row);
        }
        return list;
    }
}
