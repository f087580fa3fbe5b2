using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Access;

/// <summary>
/// What a token may see, written from docs/access.md and the access spec without the engine's code:
/// admins and analysts everything; a country_ops_lead the events whose country is in its list and,
/// when it has them, whose hub and zone are in its hub and zone lists; a vendor the events whose
/// store_id is one of its stores (an event without a store is not a vendor's). A request filter on
/// a dimension the token restricts may only name values of the token's list; any other value is a
/// 403. Everything else is answered over the visible data only, which is the request's filters with
/// the scope added: <see cref="Effective"/>.
/// </summary>
public sealed record TokenScope(string Name, string Role, string[] Countries, string[] Hubs, string[] Zones, string[] Stores)
{
    public static TokenScope Admin(string name) => new(name, "admin", [], [], [], []);

    public static TokenScope Analyst(string name) => new(name, "analyst", [], [], [], []);

    public static TokenScope Lead(string name, string[] countries, string[]? hubs = null, string[]? zones = null) =>
        new(name, "country_ops_lead", countries, hubs ?? [], zones ?? [], []);

    public static TokenScope Vendor(string name, params string[] stores) => new(name, "vendor", [], [], [], stores);

    public bool SeesEverything => Role is "admin" or "analyst";

    /// <summary>The token's list for a dimension it restricts; null for a dimension it does not.</summary>
    public string[]? Restricted(string dimension) => (Role, dimension) switch
    {
        ("country_ops_lead", "country") => Countries,
        ("country_ops_lead", "hub") when Hubs.Length > 0 => Hubs,
        ("country_ops_lead", "zone") when Zones.Length > 0 => Zones,
        ("vendor", "store_id") => Stores,
        _ => null,
    };

    /// <summary>Whether an event with these dimensions is the token's to see.</summary>
    public bool Sees(Dimensions dimensions) => Dimensions.Names.All(name =>
        Restricted(name) is not { } allowed || (dimensions.Get(name) is { } value && allowed.Contains(value, StringComparer.Ordinal)));

    /// <summary>Whether a store, known by its country, hub and zone, is the token's to see.</summary>
    public bool SeesStore(string storeId, Dimensions storeDimensions) =>
        Role == "vendor" ? Stores.Contains(storeId, StringComparer.Ordinal) : Sees(storeDimensions with { StoreId = storeId });

    /// <summary>The request's filter values that lie outside the token's lists (empty when the request may be answered).</summary>
    public List<string> Violations(DimensionFilters request) =>
        [.. request.Values.SelectMany(f => Restricted(f.Key) is { } allowed
            ? f.Value.Where(v => !allowed.Contains(v, StringComparer.Ordinal))
            : [])];

    /// <summary>The request's filters intersected with the scope: a restricted dimension keeps the request's values if it has any, else the token's list.</summary>
    public DimensionFilters Effective(DimensionFilters request)
    {
        var filters = new Dictionary<string, string[]>(request.Values, StringComparer.Ordinal);
        foreach (var name in Dimensions.Names)
        {
            if (Restricted(name) is { } allowed && !filters.ContainsKey(name))
            {
                filters[name] = allowed;
            }
        }
        return new DimensionFilters(filters);
    }

    public override string ToString() => Role switch
    {
        "country_ops_lead" => $"{Name} (country_ops_lead countries={string.Join(',', Countries)}"
            + (Hubs.Length > 0 ? $" hubs={string.Join(',', Hubs)}" : "") + (Zones.Length > 0 ? $" zones={string.Join(',', Zones)}" : "") + ")",
        "vendor" => $"{Name} (vendor stores={string.Join(',', Stores)})",
        _ => $"{Name} ({Role})",
    };
}
