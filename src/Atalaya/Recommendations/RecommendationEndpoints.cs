using System.Text.Json.Serialization;
using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Engine.Recommendations;
using Atalaya.Http;

namespace Atalaya.Recommendations;

/// <summary>
/// <c>GET /api/recommendations</c> for storefronts: token (a write key, whose secret is already
/// in the page, or a read token; 401 otherwise) → parameters (400 naming the bad one) → the
/// model, which checks the product (404) and the reader's scope (403) → an audit entry like every
/// read. The environment's <c>recommendations.scope</c> decides whether candidates stay in the
/// product's store or may come from any store of its country.
/// </summary>
public static class RecommendationEndpoints
{
    private const int MaxLimit = 100;
    private const int MaxIdLength = 256;

    public static readonly IReadOnlyDictionary<string, string> Parameters = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["product_id"] = "Required: the product whose page asks.",
        ["user_id"] = "The signed-in person looking at it (for for_you).",
        ["anonymous_id"] = "The anonymous visitor looking at it (for for_you), instead of user_id.",
        ["kind"] = "bought_together, viewed_together or for_you. Default: for_you when a person is given, then bought_together, then viewed_together.",
        ["limit"] = $"Products to return, 1–{MaxLimit}. Default 10.",
    };

    public static IEndpointRouteBuilder MapRecommendations(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/recommendations", RunAsync)
            .WithName("Recommendations").WithTags("Storefront")
            .WithSummary("Products to show on a product page: bought together, viewed together, for you, or popular when history is short. Authorization: Bearer <write key or read token>.")
            .QueryParameters([.. Parameters.Select(p => (p.Key, p.Value))]);
        app.MapGet("/api/analysis/bought-together", async (HttpContext c, HubState s) =>
            {
                // A dashboard opened right after a start waits for the model rather than showing an error.
                if (s.Current is { } hub)
                {
                    await Task.WhenAny(hub.Recommendations.Loaded, Task.Delay(TimeSpan.FromSeconds(20), c.RequestAborted));
                }
                return await ReadCall.RunAsync(c, s, PairParams, Pairs);
            })
            .Describe("BoughtTogether", "Products of the reader's stores bought together in delivered orders, with the lift (the vendor dashboard's panel).", PairParams);
        return app;
    }

    private static readonly string[] PairParams = ["store_id", "limit"];

    private static ReadAnswer Pairs(ReadContext r)
    {
        var model = r.Hub.Recommendations;
        if (!model.IsLoaded)
        {
            throw new BodyException(StatusCodes.Status503ServiceUnavailable, "Recommendations are loading the stored events; retry in a few seconds.");
        }
        var pairs = model.BoughtTogetherPairs(r.Parameters.List("store_id"), r.Scope, r.Hub.Log.Stores, r.Parameters.Int("limit", 1, 1000, 20));
        return new ReadAnswer(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new BoughtTogetherResponse(pairs), RecommendationJson.Default.BoughtTogetherResponse), pairs.Count);
    }

    private static Task<IResult> RunAsync(HttpContext context, HubState state, ServeOptions options) => ReadCall.AuditedAsync(context, state, (hub, _, scope) =>
    {
        var request = Parse(context.Request.Query, options.Config.Recommendations.Marketplace);
        var model = hub.Recommendations;
        if (!model.IsLoaded)
        {
            context.Response.Headers.RetryAfter = "5";
            throw new BodyException(StatusCodes.Status503ServiceUnavailable, "Recommendations are loading the stored events; retry in a few seconds.");
        }
        IReadOnlyList<Recommendation> data;
        try
        {
            data = model.Recommend(request, scope, hub.Log.Stores, hub.Kpis.Time.GetUtcNow());
        }
        catch (UnknownProductException e)
        {
            throw new BodyException(StatusCodes.Status404NotFound, e.Message);
        }
        return Task.FromResult(new CallAnswer(Results.Json(new RecommendationsResponse(data), RecommendationJson.Default.RecommendationsResponse), data.Count));
    }, (hub, request) =>
    {
        // A write key is a storefront's public key: it may ask about any product, as the page it serves would.
        var token = Authenticate(hub.Tokens, request);
        return (token, token.Role == Role.Write ? AccessScope.Everything : AccessScope.Of(token));
    });

    private static TokenInfo Authenticate(TokenStore tokens, HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw new BodyException(StatusCodes.Status401Unauthorized,
                "A token is required: send Authorization: Bearer <token> with the storefront's write key or a read token.");
        }
        return Access.ReadAccess.Authenticate(tokens, header[7..].Trim())
            ?? throw new BodyException(StatusCodes.Status401Unauthorized, "The token is unknown or revoked.");
    }

    internal static RecommendationRequest Parse(IQueryCollection query, bool marketplace)
    {
        foreach (var key in query.Keys)
        {
            if (!Parameters.ContainsKey(key))
            {
                throw KpiParameters.Bad($"unknown parameter '{key}'; this endpoint takes {string.Join(", ", Parameters.Keys)}");
            }
        }
        var productId = Single(query, "product_id") ?? throw KpiParameters.Bad("product_id: is required (the product whose page asks)");
        var userId = Single(query, "user_id");
        var anonymousId = Single(query, "anonymous_id");
        if (userId is not null && anonymousId is not null)
        {
            throw KpiParameters.Bad("user_id, anonymous_id: give one of them, not both");
        }
        RecommendationKind? kind = null;
        if (Single(query, "kind") is { } kindText)
        {
            kind = RecommendationKinds.Parse(kindText)
                ?? throw KpiParameters.Bad($"kind: '{kindText}' is not one of {RecommendationKinds.AllowedNames}");
            if (kind == RecommendationKind.ForYou && userId is null && anonymousId is null)
            {
                throw KpiParameters.Bad("kind: for_you needs user_id or anonymous_id (whose recent views to use)");
            }
        }
        var limit = 10;
        if (Single(query, "limit") is { } limitText
            && (!int.TryParse(limitText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            throw KpiParameters.Bad($"limit: '{limitText}' must be a whole number from 1 to {MaxLimit}");
        }
        return new RecommendationRequest(productId, kind, userId, anonymousId, limit, marketplace);
    }

    /// <summary>A parameter given at most once, not empty, of a sane length; null when absent.</summary>
    private static string? Single(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return null;
        }
        if (values.Count != 1)
        {
            throw KpiParameters.Bad($"{name}: give it once");
        }
        var value = values[0];
        if (string.IsNullOrWhiteSpace(value))
        {
            throw KpiParameters.Bad($"{name}: is empty");
        }
        if (value.Length > MaxIdLength)
        {
            throw KpiParameters.Bad($"{name}: is longer than {MaxIdLength} characters");
        }
        return value;
    }
}

/// <summary>The answer of <c>GET /api/recommendations</c>: the products, best first.</summary>
public sealed record RecommendationsResponse(IReadOnlyList<Recommendation> Data);

/// <summary>The answer of <c>GET /api/analysis/bought-together</c>: pairs, most often bought together first.</summary>
public sealed record BoughtTogetherResponse(IReadOnlyList<ProductPair> Data);

/// <summary>Source-generated JSON for the recommendations answers.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(RecommendationsResponse))]
[JsonSerializable(typeof(BoughtTogetherResponse))]
internal sealed partial class RecommendationJson : JsonSerializerContext;
