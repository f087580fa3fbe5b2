namespace Atalaya.Engine.Recommendations;

/// <summary>Which list is asked for; <see cref="Popular"/> is the fallback (and the evaluation's baseline).</summary>
public enum RecommendationKind
{
    BoughtTogether,
    ViewedTogether,
    ForYou,
    Popular,
}

public static class RecommendationKinds
{
    public const string AllowedNames = "bought_together, viewed_together, for_you";

    public static string Name(RecommendationKind kind) => kind switch
    {
        RecommendationKind.BoughtTogether => "bought_together",
        RecommendationKind.ViewedTogether => "viewed_together",
        RecommendationKind.ForYou => "for_you",
        _ => "popular",
    };

    /// <summary>The kinds a caller may ask for by name (popular is what fills in, not a kind to ask for).</summary>
    public static RecommendationKind? Parse(string text) => text switch
    {
        "bought_together" => RecommendationKind.BoughtTogether,
        "viewed_together" => RecommendationKind.ViewedTogether,
        "for_you" => RecommendationKind.ForYou,
        _ => null,
    };
}

/// <summary>
/// One question: recommendations for a product page (and the person looking at it, for "for you").
/// Null <paramref name="Kind"/> asks for the best the model has: "for you" when a person is named,
/// then bought together, then viewed together. <paramref name="Marketplace"/> widens the candidates
/// from the product's store to every store of its country.
/// </summary>
public sealed record RecommendationRequest(
    string ProductId,
    RecommendationKind? Kind = null,
    string? UserId = null,
    string? AnonymousId = null,
    int Limit = 10,
    bool Marketplace = false);

/// <summary>One recommended product; <paramref name="Reason"/> names the list it came from (bought_together, viewed_together, for_you or popular).</summary>
public sealed record Recommendation(string ProductId, string? ProductName, string? StoreId, double Score, string Reason);

/// <summary>A product id no event has mentioned.</summary>
public sealed class UnknownProductException(string message) : Exception(message);

/// <summary>Two products of a store bought together: in how many delivered orders, and the lift (how many times more often than chance).</summary>
public sealed record ProductPair(string StoreId, string ProductId, string? ProductName, string OtherProductId, string? OtherProductName, double Orders, double Lift);
