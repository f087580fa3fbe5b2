using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Recommendations;

/// <summary>
/// Answering a product page: check the product and the reader's scope, then fill the list from
/// the asked kind's ranking and, when that runs short, from popular products (same category
/// first, then the rest of the store or country). Candidates are never the product itself, never
/// out of stock, only of the product's store (or its country, for a marketplace), and only of
/// stores the reader may see.
/// </summary>
public sealed partial class RecommendationModel
{
    /// <summary>Pairs seen fewer times than this are noise, not a neighbour.</summary>
    public double MinimumCount { get; set; } = 1;

    /// <summary>
    /// Ranks neighbours by lift instead of cosine (the evaluation's comparison; cosine measured
    /// better, see docs/recommendations.md, because lift favours pairs of rarely bought products).
    /// </summary>
    public bool RankByLift { get; set; }

    public IReadOnlyList<Recommendation> Recommend(RecommendationRequest request, AccessScope scope, StoreDirectory stores, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(stores);
        lock (_gate)
        {
            if (!_productIndex.TryGetValue(request.ProductId, out var p))
            {
                throw new UnknownProductException(
                    $"product_id '{request.ProductId}' is unknown: no product_viewed, add_to_cart, purchase_completed or inventory_snapshot event names it");
            }
            var product = _products[p];
            if (!InScope(product.StoreId, scope, stores))
            {
                throw new ScopeViolationException(
                    $"product_id '{request.ProductId}' belongs to store '{product.StoreId ?? "(unknown)"}', which is outside this token's scope");
            }
            var country = product.StoreId is { } s && stores.TryGet(s, out var dimension) ? dimension.Country : null;
            bool Allowed(int c)
            {
                var candidate = _products[c];
                if (c == p || candidate.OutOfStock || candidate.StoreId is null)
                {
                    return false;
                }
                var sameStore = string.Equals(candidate.StoreId, product.StoreId, StringComparison.Ordinal);
                if (!sameStore && !(request.Marketplace && country is not null
                    && stores.TryGet(candidate.StoreId, out var other) && string.Equals(other.Country, country, StringComparison.Ordinal)))
                {
                    return false;
                }
                return sameStore || InScope(candidate.StoreId, scope, stores);
            }

            RecommendationKind[] kinds = request.Kind switch
            {
                { } kind => [kind],
                null when request.UserId is not null || request.AnonymousId is not null =>
                    new[] { RecommendationKind.ForYou, RecommendationKind.BoughtTogether, RecommendationKind.ViewedTogether },
                _ => [RecommendationKind.BoughtTogether, RecommendationKind.ViewedTogether],
            };
            var answer = new List<Recommendation>(request.Limit);
            var taken = new HashSet<int>();
            foreach (var kind in kinds.Append(RecommendationKind.Popular))
            {
                if (answer.Count >= request.Limit)
                {
                    break;
                }
                foreach (var (c, score) in Ranked(kind, p, request, now, country, Allowed))
                {
                    if (answer.Count >= request.Limit)
                    {
                        break;
                    }
                    if (taken.Add(c))
                    {
                        var entry = _products[c];
                        answer.Add(new Recommendation(entry.Id, entry.Name, entry.StoreId, Math.Round(score, 6), RecommendationKinds.Name(kind)));
                    }
                }
            }
            return answer;
        }
    }

    /// <summary>One kind's candidates for product <paramref name="p"/>, best first.</summary>
    private List<(int Product, double Score)> Ranked(RecommendationKind kind, int p, RecommendationRequest request, DateTimeOffset now, string? country, Func<int, bool> allowed)
    {
        var scores = new Dictionary<int, double>();
        var neighbours = new List<Neighbour>();
        switch (kind)
        {
            case RecommendationKind.BoughtTogether:
            case RecommendationKind.ViewedTogether:
                (kind == RecommendationKind.BoughtTogether ? _bought : _viewed).NeighboursOf(p, MinimumCount, neighbours);
                foreach (var n in neighbours)
                {
                    scores[n.Product] = RankByLift ? n.Lift : n.Cosine;
                }
                break;
            case RecommendationKind.ForYou:
                ForYou(p, request, now, scores, neighbours);
                break;
            default:
                return Popular(p, request.Marketplace, country, allowed);
        }
        return [.. scores.Where(s => allowed(s.Key))
            .Select(s => (s.Key, s.Value))
            .OrderByDescending(s => s.Value)
            .ThenBy(s => _products[s.Key].Id, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The page being looked at counts as a view made now; each recent view of the person adds
    /// itself (people come back to what they looked at) and its neighbours' similarities, all
    /// weighted by the view's age. A person the model does not know gets nothing (popular fills in).
    /// </summary>
    private void ForYou(int p, RecommendationRequest request, DateTimeOffset now, Dictionary<int, double> scores, List<Neighbour> neighbours)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var halfLifeMs = ForYouHalfLife.TotalMilliseconds;
        var recent = new List<(int Product, long AtMs)>();
        if (request.UserId is { } u)
        {
            _people.Views(UserKey(u), recent);
        }
        if (request.AnonymousId is { } a)
        {
            _people.Views(AnonymousKey(a), recent);
        }
        var views = recent.Select(v => (v.Product, Weight: Math.Pow(0.5, Math.Max(0, nowMs - v.AtMs) / halfLifeMs))).ToList();
        if (views.Count == 0)
        {
            return;
        }
        views.Add((p, 1));
        foreach (var (product, weight) in views)
        {
            scores[product] = scores.GetValueOrDefault(product) + weight;
            foreach (var table in new[] { _viewed, _bought })
            {
                table.NeighboursOf(product, MinimumCount, neighbours);
                foreach (var n in neighbours)
                {
                    scores[n.Product] = scores.GetValueOrDefault(n.Product) + (weight * n.Cosine);
                }
            }
        }
    }

    /// <summary>
    /// Popular products where the product sells: its store, or its country for a marketplace; those
    /// of its category first. The score is the popularity relative to the most popular candidate.
    /// </summary>
    private List<(int Product, double Score)> Popular(int p, bool marketplace, string? country, Func<int, bool> allowed)
    {
        var product = _products[p];
        IEnumerable<int> pool = marketplace && country is not null
            ? Enumerable.Range(0, _products.Count)
            : product.StoreId is { } store && _productsByStore.TryGetValue(store, out var list) ? list : [];
        var candidates = pool.Where(c => allowed(c) && _products[c].Popularity > 0).ToList();
        if (candidates.Count == 0)
        {
            return [];
        }
        var top = candidates.Max(c => _products[c].Popularity);
        return [.. candidates
            .OrderByDescending(c => product.Category is not null && string.Equals(_products[c].Category, product.Category, StringComparison.Ordinal))
            .ThenByDescending(c => _products[c].Popularity)
            .ThenBy(c => _products[c].Id, StringComparer.Ordinal)
            .Select(c => (c, _products[c].Popularity / top))];
    }

    private static bool InScope(string? storeId, AccessScope scope, StoreDirectory stores)
    {
        if (scope.IsEverything)
        {
            return true;
        }
        if (storeId is null)
        {
            return false;
        }
        if (scope.Stores.Count > 0 && !scope.Stores.Contains(storeId, StringComparer.Ordinal))
        {
            return false;
        }
        if (scope.Countries.Count == 0 && scope.Hubs.Count == 0 && scope.Zones.Count == 0)
        {
            return true;
        }
        if (!stores.TryGet(storeId, out var store))
        {
            return false;
        }
        return Within(scope.Countries, store.Country) && Within(scope.Hubs, store.Hub) && Within(scope.Zones, store.Zone);
    }

    private static bool Within(IReadOnlyList<string> allowed, string? value) =>
        allowed.Count == 0 || (value is not null && allowed.Contains(value, StringComparer.Ordinal));

    /// <summary>
    /// The "bought together" pairs of the stores the reader may see (<paramref name="storeIds"/>
    /// narrows them; a vendor naming another store is a <see cref="ScopeViolationException"/>):
    /// each pair once, seen in at least two delivered orders, most frequent first, with its lift.
    /// No stock filter: this is the vendor's view of what sells together, not a storefront list.
    /// </summary>
    public IReadOnlyList<ProductPair> BoughtTogetherPairs(IReadOnlyList<string>? storeIds, AccessScope scope, StoreDirectory stores, int limit)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(stores);
        if (storeIds is not null)
        {
            ScopeMatcher.CheckWithin(new DimensionFilter(new Dictionary<Catalog.Dimension, IReadOnlyList<string>> { [Catalog.Dimension.StoreId] = storeIds }), scope);
        }
        lock (_gate)
        {
            var pairs = new List<ProductPair>();
            var neighbours = new List<Neighbour>();
            foreach (var (store, list) in _productsByStore)
            {
                if ((storeIds is not null && !storeIds.Contains(store, StringComparer.Ordinal)) || !InScope(store, scope, stores))
                {
                    continue;
                }
                foreach (var p in list)
                {
                    _bought.NeighboursOf(p, 2, neighbours);
                    foreach (var n in neighbours)
                    {
                        var other = _products[n.Product];
                        // Each pair once, both products of this store, the lower product id first: the
                        // same answer whatever order the products were first seen in (a cluster node
                        // reads the events in another order than the embedded hub's log).
                        if (string.CompareOrdinal(_products[p].Id, other.Id) < 0 && string.Equals(other.StoreId, store, StringComparison.Ordinal))
                        {
                            pairs.Add(new ProductPair(store, _products[p].Id, _products[p].Name, other.Id, other.Name, n.Count, Math.Round(n.Lift, 3)));
                        }
                    }
                }
            }
            return [.. pairs.OrderByDescending(x => x.Orders).ThenByDescending(x => x.Lift).ThenBy(x => x.ProductId, StringComparer.Ordinal)
                .ThenBy(x => x.OtherProductId, StringComparer.Ordinal).Take(limit)];
        }
    }
}
