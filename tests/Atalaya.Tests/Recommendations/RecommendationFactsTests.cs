using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Recommendations;
using Atalaya.Engine.Storage;

namespace Atalaya.Tests.Recommendations;

/// <summary>
/// The recommendation model applies committed events from the facts the collector noted while
/// writing them, instead of parsing their stored JSON again on its own thread. The facts must give
/// exactly what reading the stored event gives, and a model fed that way must end as a model built
/// from the stored events.
/// </summary>
public sealed class RecommendationFactsTests : IAsyncLifetime
{
    private static readonly DemoOptions Demo = new(Days: 6, Seed: 11, EndDate: new DateOnly(2026, 11, 30), SessionsPerDay: 150, PlantedPairs: true);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "atalaya-reco-facts-" + Guid.NewGuid().ToString("N"));
    private Hub _hub = null!;

    public Task InitializeAsync()
    {
        _hub = Hub.Open(_directory);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _hub.Recommendations.StopAsync();
        await _hub.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void The_collected_facts_give_the_model_what_reading_the_stored_event_gives()
    {
        var bodies = DemoEvents().Chunk(500).Select(Array).Append(Encoding.UTF8.GetBytes("[" + string.Join(",", OddEvents()) + "]"));
        var fromJson = new RecommendationEvent();
        var fromFacts = new RecommendationEvent();
        var fromCopy = new RecommendationEvent();
        int read = 0, noted = 0;
        foreach (var body in bodies)
        {
            using var batch = _hub.Pipeline.NormalizeNative(body, ndjson: false, "test");
            Assert.Empty(batch.Rejected);
            for (var i = 0; i < batch.EventCount; i++)
            {
                var json = batch.Json(batch.Events[i]);
                var facts = batch.Facts[i];
                var expected = fromJson.Read(json);
                read += expected ? 1 : 0;
                if (!facts.CompleteForRecommendations)
                {
                    continue;
                }
                noted += expected ? 1 : 0;
                var actual = fromFacts.Read(json, facts, batch.Items.Slice(facts.FirstItem, facts.ItemCount));
                Assert.True(expected == actual && Describe(fromJson) == Describe(fromFacts),
                    $"Stored event: {Encoding.UTF8.GetString(json)}\nRead:  {expected} {Describe(fromJson)}\nFacts: {actual} {Describe(fromFacts)}");
                // What the follower is handed: only the texts, moved into a buffer of their own behind other bytes.
                using var texts = new RentedList<byte>();
                using var items = new RentedList<CollectedItem>();
                texts.AddRange("[{}]"u8);
                items.AddRange(batch.Items[..facts.FirstItem]);
                items.AddRange(batch.Items.Slice(facts.FirstItem, facts.ItemCount));
                var moved = facts;
                RecommendationEvent.CopyTexts(json, ref moved, items, texts);
                var copied = fromCopy.Read(texts.AsSpan(), moved, items.AsSpan().Slice(moved.FirstItem, moved.ItemCount));
                Assert.True(expected == copied && Describe(fromJson) == Describe(fromCopy),
                    $"Stored event: {Encoding.UTF8.GetString(json)}\nRead:   {expected} {Describe(fromJson)}\nCopied: {copied} {Describe(fromCopy)}");
                Assert.True(texts.Count < 4 + json.Length / 2, $"{texts.Count - 4} bytes copied of a {json.Length}-byte event");
            }
        }
        // The demo's events are all plain: every one the model reads comes with its facts.
        Assert.True(read > 1000 && noted >= read - OddEvents().Length, $"{noted} of {read} events the model reads had facts");
    }

    [Fact]
    public async Task A_following_model_applies_committed_events_from_their_facts_and_matches_a_model_built_from_the_stored_events()
    {
        using (var connection = _hub.Database.Connect())
        {
            Assert.Equal(0, _hub.Recommendations.Start(connection, TimeSpan.FromDays(400)));
        }
        foreach (var chunk in DemoEvents().Chunk(1000))
        {
            var result = await _hub.Pipeline.IngestNativeAsync(Array(chunk), ndjson: false, "test");
            Assert.Empty(result.Rejected);
        }
        await _hub.Recommendations.FlushAsync();

        var stored = StoredEvents().ToList();
        var reference = RecommendationModel.FromEvents(stored);
        Assert.True(reference.EventsApplied > 1000, $"{reference.EventsApplied} events applied");
        Assert.Equal(reference.EventsApplied, _hub.Recommendations.EventsApplied);
        Assert.Equal(0, _hub.Recommendations.EventsReadFromJson);
        var reader = new RecommendationEvent();
        var products = stored.Where(e => reader.Read(e) && reader.ProductId is not null).Select(_ => reader.ProductId!).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Answers(reference, products), Answers(_hub.Recommendations, products));
    }

    /// <summary>Every recommendation list of every product, and the bought-together pairs: the model's whole visible state.</summary>
    private List<string> Answers(RecommendationModel model, List<string> products)
    {
        var stores = _hub.Log.Stores;
        var now = new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero);
        var answers = model.BoughtTogetherPairs(null, AccessScope.Everything, stores, 10_000).Select(p => p.ToString()).ToList();
        var pairs = answers.Count;
        foreach (var product in products)
        {
            foreach (var kind in new[] { RecommendationKind.BoughtTogether, RecommendationKind.ViewedTogether })
            {
                answers.AddRange(model.Recommend(new RecommendationRequest(product, kind, Limit: 50, Marketplace: true), AccessScope.Everything, stores, now)
                    .Select(r => $"{product} {kind}: {r}"));
            }
        }
        Assert.True(answers.Count > pairs + 1000, $"only {answers.Count} answers: the comparison would prove little");
        return answers;
    }

    private IEnumerable<byte[]> StoredEvents()
    {
        using var connection = _hub.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT encoding, events FROM event_blocks ORDER BY first_seq;";
        using var reader = command.ExecuteReader();
        var all = new List<byte[]>();
        while (reader.Read())
        {
            var block = BlockCodec.Decode(reader.GetString(0), (byte[])reader.GetValue(1));
            using var document = System.Text.Json.JsonDocument.Parse(block);
            all.AddRange(document.RootElement.EnumerateArray().Select(e => Encoding.UTF8.GetBytes(e.GetRawText())));
        }
        return all;
    }

    private static IEnumerable<byte[]> DemoEvents() => DemoGenerator.Generate(Demo);

    private static byte[] Array(byte[][] events)
    {
        var body = new List<byte>(events.Sum(e => e.Length + 1) + 2) { (byte)'[' };
        for (var i = 0; i < events.Length; i++)
        {
            if (i > 0)
            {
                body.Add((byte)',');
            }
            body.AddRange(events[i]);
        }
        body.Add((byte)']');
        return [.. body];
    }

    /// <summary>Shapes the model and the facts must agree on: escapes, empty ids, repeated members.</summary>
    private static string[] OddEvents() =>
    [
        """{"event_id":"odd-1","event_type":"inventory_snapshot","timestamp":"2026-11-29T10:00:00Z","properties":{"store_id":"st-\u00e9","product_id":"p-\"1\"","quantity_available":12}}""",
        """{"event_id":"odd-2","event_type":"inventory_snapshot","timestamp":"2026-11-29T10:00:00Z","properties":{"store_id":"st-1","product_id":"p-6","product_id":"p-7","quantity_available":3}}""",
        """{"event_id":"odd-3","event_type":"product_viewed","timestamp":"2026-11-29T10:00:00Z","session_id":"","user_id":"u-\u0031","properties":{"product_id":"p-8","product_name":"Caf\u00e9","product_price":2,"product_category":"Bebidas \"fr\u00edas\"","store_id":"st-1","store_name":"Uno"}}""",
        """{"event_id":"odd-4","event_type":"add_to_cart","timestamp":"2026-11-29T10:00:00Z","anonymous_id":"a-9","properties":{"product_id":"p-9","quantity":2,"price":5,"store_id":"st-\u0032","product_category":["not","text"]}}""",
        """{"event_id":"odd-5","event_type":"product_viewed","timestamp":"2026-11-29T10:00:00Z","session_id":"s-1","properties":{"product_id":"p-10","product_name":"Té","product_price":2,"product_category":"x","product_category":"y","store_id":"st-1","store_name":"Uno"}}""",
    ];

    private static string Describe(RecommendationEvent e) =>
        $"{e.Type} {e.TimestampMs} s={e.SessionId} u={e.UserId} a={e.AnonymousId} p={e.ProductId} n={e.ProductName} c={e.ProductCategory} st={e.StoreId} o={e.OrderId} status={e.StatusText} q={e.QuantityAvailable} items=[{string.Join(",", e.Items)}]";
}
