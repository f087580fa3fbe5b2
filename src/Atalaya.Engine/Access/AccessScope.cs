using Atalaya.Engine.Catalog;

namespace Atalaya.Engine.Access;

/// <summary>
/// What a reader may see (docs/access.md): nothing restricted for admins and analysts; a country
/// operations lead its countries (optionally only some hubs or zones); a vendor its stores. The KPI
/// engine intersects every query with the scope when it compiles its filters, so no endpoint can
/// forget it: data outside the scope is not filtered out of an answer, it is never read.
/// </summary>
public sealed record AccessScope(
    IReadOnlyList<string> Countries,
    IReadOnlyList<string> Hubs,
    IReadOnlyList<string> Zones,
    IReadOnlyList<string> Stores)
{
    public static readonly AccessScope Everything = new([], [], [], []);

    public bool IsEverything => Countries.Count == 0 && Hubs.Count == 0 && Zones.Count == 0 && Stores.Count == 0;

    public static AccessScope Of(TokenInfo token) => token.Role switch
    {
        Role.Admin or Role.Analyst => Everything,
        Role.CountryOpsLead => new AccessScope(token.Countries, token.Hubs, token.Zones, []),
        Role.Vendor => new AccessScope([], [], [], token.Stores),
        _ => throw new ArgumentException("Write keys have no read scope.", nameof(token)),
    };

    /// <summary>The allowed values of a scoped dimension, or null when the scope does not restrict it.</summary>
    public IReadOnlyList<string>? Allowed(Dimension dimension)
    {
        var values = dimension switch
        {
            Dimension.Country => Countries,
            Dimension.Hub => Hubs,
            Dimension.Zone => Zones,
            Dimension.StoreId => Stores,
            _ => [],
        };
        return values.Count == 0 ? null : values;
    }

    /// <summary>The scope as filters, the form in which it is injected into queries and recorded in the audit log.</summary>
    public IReadOnlyDictionary<Dimension, IReadOnlyList<string>> AsFilters() =>
        Dimensions.All.Where(d => Allowed(d) is not null).ToDictionary(d => d, d => Allowed(d)!);
}
