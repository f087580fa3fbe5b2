using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Access;

/// <summary>One generated GET: who sends it, the path and its query parameters in the order sent.</summary>
public sealed record ScopeRequest(Caller Caller, string Path, IReadOnlyList<KeyValuePair<string, string>> Params)
{
    public string PathAndQuery => Params.Count == 0
        ? Path
        : Path + "?" + string.Join("&", Params.Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}"));

    public string? Get(string name) => Params.Where(p => p.Key == name).Select(p => p.Value).FirstOrDefault();

    public IReadOnlyList<string>? List(string name) => Get(name)?.Split(',');

    /// <summary>The request's dimension filters.</summary>
    public DimensionFilters Filters => new(Params.Where(p => Dimensions.Names.Contains(p.Key))
        .ToDictionary(p => p.Key, p => p.Value.Split(','), StringComparer.Ordinal));

    public override string ToString() => $"GET {PathAndQuery} as {Caller}";
}
