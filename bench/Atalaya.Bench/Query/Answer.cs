using System.Globalization;

namespace Atalaya.Bench.Query;

/// <summary>
/// What one side answered, reduced to comparable values: a key per row and figure (for example
/// <c>2026-10-01|MX</c> → GMV), the range of periods the answer covers (keys start with the period,
/// so answers over slightly different ranges are compared on the periods both cover), and for
/// rankings the ordered ids.
/// </summary>
public sealed record Answer(IReadOnlyDictionary<string, double> Values, string? From = null, string? To = null, IReadOnlyList<string>? Ranking = null)
{
    /// <summary>
    /// "agree" or "differ: …" with the first difference. Keys missing on one side count as 0 (a
    /// period without orders may be left out). With <paramref name="onlyFirstKeys"/> only the keys
    /// <paramref name="hub"/> has are compared (answers whose shape the contract leaves open).
    /// </summary>
    public static string Compare(Answer hub, Answer clickhouse, bool onlyFirstKeys = false)
    {
        var from = Max(hub.From, clickhouse.From);
        var to = Min(hub.To, clickhouse.To);
        var keys = (onlyFirstKeys ? hub.Values.Keys : hub.Values.Keys.Union(clickhouse.Values.Keys))
            .Where(k => InRange(k, from, to))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (keys.Count == 0)
        {
            return "differ: nothing comparable";
        }
        var differing = keys.Where(k => !Close(hub.Values.GetValueOrDefault(k), clickhouse.Values.GetValueOrDefault(k))).ToList();
        var problems = new List<string>();
        if (differing.Count > 0)
        {
            var k = differing[0];
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"{differing.Count} of {keys.Count} values, first {k}: hub {hub.Values.GetValueOrDefault(k):0.##} vs {clickhouse.Values.GetValueOrDefault(k):0.##}"));
        }
        if (hub.Ranking is { } hubRanking && clickhouse.Ranking is { } chRanking)
        {
            var missing = chRanking.Except(hubRanking, StringComparer.Ordinal).Count();
            if (missing > 0 || hubRanking.Count != chRanking.Count)
            {
                problems.Add($"ranking: {missing} of ClickHouse's {chRanking.Count} ids missing from the hub's {hubRanking.Count}");
            }
        }
        var total = keys.Sum(k => clickhouse.Values.GetValueOrDefault(k));
        return problems.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"agree ({keys.Count} values)")
            : string.Create(CultureInfo.InvariantCulture, $"differ: {string.Join("; ", problems)} (Σ hub {keys.Sum(k => hub.Values.GetValueOrDefault(k)):N2} vs {total:N2})");
    }

    private static bool Close(double a, double b) => Math.Abs(a - b) <= Math.Max(0.01, 1e-6 * Math.Max(Math.Abs(a), Math.Abs(b)));

    private static bool InRange(string key, string? from, string? to)
    {
        var period = key.Split('|')[0];
        return (from is null || string.CompareOrdinal(period, from) >= 0) && (to is null || string.CompareOrdinal(period, to) <= 0);
    }

    private static string? Max(string? a, string? b) => a is null ? b : b is null ? a : string.CompareOrdinal(a, b) >= 0 ? a : b;

    private static string? Min(string? a, string? b) => a is null ? b : b is null ? a : string.CompareOrdinal(a, b) <= 0 ? a : b;
}
