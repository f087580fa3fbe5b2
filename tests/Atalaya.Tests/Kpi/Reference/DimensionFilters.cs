namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// The query's dimension filters: an event is in when, for every filtered dimension, its value is
/// one of the listed ones (a comma list means any of them). An event without the dimension is out.
/// </summary>
public sealed class DimensionFilters
{
    public static readonly DimensionFilters None = new(new Dictionary<string, string[]>());

    public DimensionFilters(IReadOnlyDictionary<string, string[]> values)
    {
        Values = values;
    }

    public IReadOnlyDictionary<string, string[]> Values { get; }

    public static DimensionFilters Of(params (string Dimension, string[] Values)[] filters) =>
        new(filters.ToDictionary(f => f.Dimension, f => f.Values, StringComparer.Ordinal));

    public bool Matches(Dimensions dimensions) =>
        Values.All(filter => dimensions.Get(filter.Key) is { } value && filter.Value.Contains(value, StringComparer.Ordinal));

    /// <summary>The filters as query string parameters (<c>country=MX,CO&amp;platform=web</c>), empty when none.</summary>
    public string ToQueryString() =>
        string.Concat(Values.Select(f => $"&{f.Key}={Uri.EscapeDataString(string.Join(',', f.Value))}"));

    public override string ToString() =>
        Values.Count == 0 ? "no filter" : string.Join(" ", Values.Select(f => $"{f.Key}={string.Join(',', f.Value)}"));
}
