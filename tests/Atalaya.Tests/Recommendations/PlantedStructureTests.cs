using System.Text.Json;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Recommendations;

namespace Atalaya.Tests.Recommendations;

/// <summary>
/// The demo generator's planted pairs are real structure the model finds, and the model beats the
/// popularity baseline on held-out days. Which pairs had enough evidence to be found is decided by
/// a plain count over the generated events (System.Text.Json only), not by the model.
/// </summary>
public sealed class PlantedStructureTests
{
    private static readonly DemoOptions Options = new(Days: 28, Seed: 7, EndDate: new DateOnly(2026, 11, 30), SessionsPerDay: 300, PlantedPairs: true);
    private static readonly Lazy<List<byte[]>> Events = new(() => [.. DemoGenerator.Generate(Options)]);

    [Fact]
    public void Planted_pairs_with_evidence_are_in_the_models_top_10()
    {
        var (bought, viewed) = ReferencePairCounts(Events.Value);
        var model = RecommendationModel.FromEvents(Events.Value);
        var planted = DemoGenerator.PlantedPairs(Options);
        foreach (var (kind, counts) in new[] { ("bought_together", bought), ("viewed_together", viewed) })
        {
            var evident = planted.Where(p => p.Kind == kind && counts.GetValueOrDefault((p.A, p.B)) >= 2).ToList();
            Assert.True(evident.Count >= 50, $"only {evident.Count} planted {kind} pairs occur twice or more: the test would prove little");
            var recall = RecommendationEvaluation.PlantedRecall(model, evident, DateTimeOffset.UtcNow)[kind];
            Assert.Equal(evident.Count, recall.Known);
            Assert.True(recall.Found >= 0.9 * recall.Known, $"{kind}: {recall.Found} of {recall.Known} planted pairs found");
        }
    }

    [Fact]
    public void The_default_stream_plants_nothing_so_planted_pairs_are_no_likelier_there()
    {
        // The same marketplace without planting: planted view pairs are co-viewed far less often.
        var plain = DemoGenerator.Generate(Options with { PlantedPairs = false }).ToList();
        var planted = DemoGenerator.PlantedPairs(Options).Where(p => p.Kind == "viewed_together").ToList();
        var withPlanting = ReferencePairCounts(Events.Value).Viewed;
        var without = ReferencePairCounts(plain).Viewed;
        var sumWith = planted.Sum(p => withPlanting.GetValueOrDefault((p.A, p.B)));
        var sumWithout = planted.Sum(p => without.GetValueOrDefault((p.A, p.B)));
        Assert.True(sumWith > 3 * sumWithout, $"planted view pairs co-viewed {sumWith} times with planting, {sumWithout} without");
    }

    [Fact]
    public void The_model_beats_the_popularity_baseline_on_held_out_days()
    {
        var split = new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
        var rows = RecommendationEvaluation.Run(Events.Value, split);
        Assert.Equal(["bought_together", "viewed_together", "for_you"], rows.Select(r => r.Kind));
        foreach (var row in rows)
        {
            Assert.True(row.Cases >= 100, $"{row.Kind}: only {row.Cases} held-out cases");
            Assert.True(row.ModelNdcg > row.BaselineNdcg, $"{row.Kind}: NDCG@10 {row.ModelNdcg:F3} vs popular {row.BaselineNdcg:F3}");
            Assert.True(row.ModelHitRate > row.BaselineHitRate, $"{row.Kind}: hit@10 {row.ModelHitRate:F3} vs popular {row.BaselineHitRate:F3}");
        }
    }

    [Fact]
    public void Hit_rate_and_ndcg_follow_their_definitions()
    {
        static Recommendation R(string id) => new(id, null, null, 0, "popular");
        var (hit, ndcg) = RecommendationEvaluation.Score([R("x"), R("a"), R("y"), R("b")], new HashSet<string> { "a", "b" }, 10);
        Assert.Equal(1, hit);
        // Relevant at ranks 2 and 4: (1/log2 3 + 1/log2 5) / (1/log2 2 + 1/log2 3).
        Assert.Equal((1 / Math.Log2(3) + 1 / Math.Log2(5)) / (1 + 1 / Math.Log2(3)), ndcg, 10);
        Assert.Equal((0.0, 0.0), RecommendationEvaluation.Score([R("x"), R("a")], new HashSet<string> { "a" }, 1));
    }

    /// <summary>Unordered pair counts: products in the same delivered order (latest final status ENTREGADO), and distinct products viewed in the same session.</summary>
    private static (Dictionary<(string, string), int> Bought, Dictionary<(string, string), int> Viewed) ReferencePairCounts(IEnumerable<byte[]> events)
    {
        var items = new Dictionary<string, List<string>>();
        var final = new Dictionary<string, (string Status, DateTimeOffset At)>();
        var sessions = new Dictionary<string, List<string>>();
        foreach (var json in events)
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var type = root.GetProperty("event_type").GetString();
            var at = root.GetProperty("timestamp").GetDateTimeOffset();
            var properties = root.GetProperty("properties");
            if (type == "purchase_completed")
            {
                items[properties.GetProperty("order_id").GetString()!] =
                    [.. properties.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("product_id").GetString()!).Distinct()];
            }
            else if (type == "order_status_changed" && properties.GetProperty("status").GetString() is "ENTREGADO" or "CANCELADO" or "REEMBOLSADO")
            {
                var order = properties.GetProperty("order_id").GetString()!;
                if (!final.TryGetValue(order, out var known) || at >= known.At)
                {
                    final[order] = (properties.GetProperty("status").GetString()!, at);
                }
            }
            else if (type == "product_viewed" && root.TryGetProperty("session_id", out var session))
            {
                var list = sessions.TryGetValue(session.GetString()!, out var l) ? l : sessions[session.GetString()!] = [];
                var product = properties.GetProperty("product_id").GetString()!;
                if (!list.Contains(product))
                {
                    list.Add(product);
                }
            }
        }
        var bought = Pairs(items.Where(o => final.TryGetValue(o.Key, out var f) && f.Status == "ENTREGADO").Select(o => o.Value));
        return (bought, Pairs(sessions.Values));
    }

    private static Dictionary<(string, string), int> Pairs(IEnumerable<List<string>> baskets)
    {
        var counts = new Dictionary<(string, string), int>();
        foreach (var basket in baskets)
        {
            for (var i = 0; i < basket.Count; i++)
            {
                for (var j = i + 1; j < basket.Count; j++)
                {
                    var key = string.CompareOrdinal(basket[i], basket[j]) < 0 ? (basket[i], basket[j]) : (basket[j], basket[i]);
                    counts[key] = counts.GetValueOrDefault(key) + 1;
                }
            }
        }
        return counts;
    }
}
