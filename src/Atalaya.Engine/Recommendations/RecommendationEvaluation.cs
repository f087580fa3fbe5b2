using Atalaya.Engine.Access;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Recommendations;

/// <summary>Hit rate@K and NDCG@K of the model and of the popularity baseline over one kind's held-out cases.</summary>
public sealed record EvaluationRow(string Kind, int Cases, int Skipped, double ModelHitRate, double ModelNdcg, double BaselineHitRate, double BaselineNdcg);

/// <summary>
/// A time-split holdout: the model learns from the events before <c>split</c> and is asked about
/// what happened after it.
/// <list type="bullet">
/// <item>bought_together: each product of each order placed after the split and delivered, with more than one
/// product; the other products of the order are the answer;</item>
/// <item>viewed_together: the first product of each later session viewing more than one; the session's other products are the answer;</item>
/// <item>for_you: people who viewed products before the split and after it; asked on their first later
/// product page, their other later products are the answer.</item>
/// </list>
/// The baseline answers every case with the popular products of the same store (the model's
/// fallback alone). Both see the same store scope and the same K. A case whose product the model
/// has never seen is skipped for both (reported as skipped).
/// </summary>
public static class RecommendationEvaluation
{
    public static IReadOnlyList<EvaluationRow> Run(IEnumerable<byte[]> events, DateTimeOffset split, int k = 10, bool rankByLift = false)
    {
        ArgumentNullException.ThrowIfNull(events);
        var splitMs = split.ToUnixTimeMilliseconds();
        var model = new RecommendationModel { RankByLift = rankByLift };
        var reader = new RecommendationEvent();
        var train = new List<byte[]>();
        var orders = new Dictionary<string, (List<string> Products, string? Final, long FinalAt)>(StringComparer.Ordinal);
        var sessions = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var people = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var json in events)
        {
            if (!reader.Read(json))
            {
                continue;
            }
            if (reader.TimestampMs < splitMs)
            {
                train.Add(json);
                if (reader.Type == RecommendationEventType.ProductViewed && Person(reader) is { } trainee)
                {
                    known.Add(trainee);
                }
                continue;
            }
            switch (reader.Type)
            {
                case RecommendationEventType.PurchaseCompleted when reader.OrderId is { } id:
                    orders[id] = ([.. reader.Items.Distinct(StringComparer.Ordinal)], null, long.MinValue);
                    break;
                case RecommendationEventType.OrderStatusChanged when reader.OrderId is { } id && orders.TryGetValue(id, out var order)
                    && reader.StatusText is "ENTREGADO" or "CANCELADO" or "REEMBOLSADO" && reader.TimestampMs >= order.FinalAt:
                    orders[id] = (order.Products, reader.StatusText, reader.TimestampMs);
                    break;
                case RecommendationEventType.ProductViewed when reader.ProductId is { } product:
                    if (reader.SessionId is { } session)
                    {
                        Append(sessions, session, product);
                    }
                    if (Person(reader) is { } person)
                    {
                        Append(people, person, product);
                    }
                    break;
                default:
                    break;
            }
        }
        model.ApplyAll(train);

        var cases = new List<(RecommendationKind Kind, RecommendationRequest Request, HashSet<string> Answer)>();
        foreach (var (products, final, _) in orders.Values)
        {
            if (final != "ENTREGADO" || products.Count < 2)
            {
                continue;
            }
            foreach (var product in products)
            {
                cases.Add((RecommendationKind.BoughtTogether, new RecommendationRequest(product, RecommendationKind.BoughtTogether, Limit: k),
                    [.. products.Where(p => p != product)]));
            }
        }
        foreach (var products in sessions.Values.Where(s => s.Count > 1))
        {
            cases.Add((RecommendationKind.ViewedTogether, new RecommendationRequest(products[0], RecommendationKind.ViewedTogether, Limit: k), [.. products.Skip(1)]));
        }
        foreach (var (person, products) in people.Where(p => p.Value.Count > 1 && known.Contains(p.Key)))
        {
            var (user, anonymous) = person.StartsWith("u:", StringComparison.Ordinal) ? (person[2..], (string?)null) : (null, person[2..]);
            cases.Add((RecommendationKind.ForYou, new RecommendationRequest(products[0], RecommendationKind.ForYou, user, anonymous, k), [.. products.Skip(1)]));
        }

        var stores = new StoreDirectory();
        var rows = new List<EvaluationRow>();
        foreach (var group in cases.GroupBy(c => c.Kind).OrderBy(g => g.Key))
        {
            int counted = 0, skipped = 0;
            double modelHits = 0, modelNdcg = 0, baseHits = 0, baseNdcg = 0;
            foreach (var (_, request, answer) in group)
            {
                IReadOnlyList<Recommendation> learned, popular;
                try
                {
                    learned = model.Recommend(request, AccessScope.Everything, stores, split);
                    popular = model.Recommend(request with { Kind = RecommendationKind.Popular, UserId = null, AnonymousId = null }, AccessScope.Everything, stores, split);
                }
                catch (UnknownProductException)
                {
                    skipped++;
                    continue;
                }
                counted++;
                var (hit, ndcg) = Score(learned, answer, k);
                modelHits += hit;
                modelNdcg += ndcg;
                (hit, ndcg) = Score(popular, answer, k);
                baseHits += hit;
                baseNdcg += ndcg;
            }
            var n = Math.Max(1, counted);
            rows.Add(new EvaluationRow(RecommendationKinds.Name(group.Key), counted, skipped, modelHits / n, modelNdcg / n, baseHits / n, baseNdcg / n));
        }
        return rows;
    }

    /// <summary>
    /// Of the planted pairs (kind, A, B) whose products the model knows, how many it finds: B among
    /// A's top <paramref name="k"/> of that kind, or A among B's. Per kind: (found, known pairs).
    /// </summary>
    public static IReadOnlyDictionary<string, (int Found, int Known)> PlantedRecall(RecommendationModel model,
        IEnumerable<(string Kind, string A, string B)> pairs, DateTimeOffset now, int k = 10)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        var stores = new StoreDirectory();
        var result = new Dictionary<string, (int Found, int Known)>(StringComparer.Ordinal);
        foreach (var (kindName, a, b) in pairs)
        {
            var kind = RecommendationKinds.Parse(kindName) ?? throw new ArgumentException($"unknown kind '{kindName}'", nameof(pairs));
            bool Finds(string from, string to) =>
                model.Recommend(new RecommendationRequest(from, kind, Limit: k), AccessScope.Everything, stores, now)
                    .Any(r => r.ProductId == to && r.Reason == kindName);
            bool found;
            try
            {
                found = Finds(a, b) || Finds(b, a);
            }
            catch (UnknownProductException)
            {
                continue;
            }
            var (f, n) = result.GetValueOrDefault(kindName);
            result[kindName] = (f + (found ? 1 : 0), n + 1);
        }
        return result;
    }

    /// <summary>Hit: any answer in the top K. NDCG: binary relevance, DCG over the top K divided by the best possible DCG.</summary>
    public static (double Hit, double Ndcg) Score(IReadOnlyList<Recommendation> ranked, IReadOnlySet<string> answer, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(answer);
        double dcg = 0, ideal = 0;
        var hit = 0.0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (answer.Contains(ranked[i].ProductId))
            {
                dcg += 1 / Math.Log2(i + 2);
                hit = 1;
            }
        }
        for (var i = 0; i < Math.Min(k, answer.Count); i++)
        {
            ideal += 1 / Math.Log2(i + 2);
        }
        return (hit, ideal == 0 ? 0 : dcg / ideal);
    }

    private static string? Person(RecommendationEvent e) =>
        e.UserId is { } user ? "u:" + user : e.AnonymousId is { } anonymous ? "a:" + anonymous : null;

    private static void Append(Dictionary<string, List<string>> lists, string key, string product)
    {
        if (!lists.TryGetValue(key, out var list))
        {
            list = [];
            lists[key] = list;
        }
        if (!list.Contains(product))
        {
            list.Add(product);
        }
    }
}
