using System.Globalization;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi.Http;

/// <summary>
/// Compares an API answer with the reference: the same set of (metric, group, period) rows, counts
/// equal exactly, other values within 1e-6 relative, nulls only where the reference has null, and
/// the documented order (metric in dictionary order, then group, then period). Period labels are
/// compared as text.
/// </summary>
public static class KpiComparison
{
    public const double Relative = 1e-6;

    /// <summary>Every difference found, worst first: row-set differences, then values, then order. Empty when the answer is right.</summary>
    public static List<string> Differences(IReadOnlyList<KpiRow> expected, KpiAnswer answer, KpiQuery query)
    {
        var differences = new List<string>();
        var actual = answer.Rows;
        if (answer.Count != actual.Count)
        {
            differences.Add($"count is {answer.Count} but data has {actual.Count} rows");
        }
        if (answer.Total is { } total && total != actual.Count)
        {
            differences.Add($"total is {total} but data has {actual.Count} rows (limit 100000 should not cut)");
        }

        var byKey = new Dictionary<string, KpiRow>(StringComparer.Ordinal);
        foreach (var row in actual)
        {
            if (!byKey.TryAdd(Key(row, query), row))
            {
                differences.Add($"row given twice: {row}");
            }
        }
        var expectedKeys = expected.Select(r => Key(r, query)).ToHashSet(StringComparer.Ordinal);
        foreach (var row in expected)
        {
            if (!byKey.TryGetValue(Key(row, query), out var got))
            {
                differences.Add($"missing row: expected {row}");
            }
            else if (!SameValue(row.Metric, row.Value, got.Value))
            {
                differences.Add($"{row.Metric} {row.Period} {row.Group}: expected {Show(row.Value)}, actual {Show(got.Value)}");
            }
        }
        differences.AddRange(actual.Where(r => !expectedKeys.Contains(Key(r, query))).Select(r => $"unexpected row: {r}"));
        if (differences.Count == 0)
        {
            differences.AddRange(OrderProblems(expected, actual, query).Take(1));
        }
        return differences;
    }

    /// <summary>Checks the order of a row list that has the right rows: the reference's order, except where null groups sit.</summary>
    private static IEnumerable<string> OrderProblems(IReadOnlyList<KpiRow> expected, IReadOnlyList<KpiRow> actual, KpiQuery query)
    {
        var position = expected.Select((r, i) => (Key: Key(r, query), i)).ToDictionary(p => p.Key, p => p.i, StringComparer.Ordinal);
        for (var i = 1; i < actual.Count; i++)
        {
            var (before, after) = (actual[i - 1], actual[i]);
            var metricOrder = MetricIndex(before.Metric).CompareTo(MetricIndex(after.Metric));
            var sameGroup = before.Metric == after.Metric && before.Group.Equals(after.Group);
            var nullsInvolved = before.Group.Values.Any(v => v is null) || after.Group.Values.Any(v => v is null);
            if (metricOrder > 0
                || (sameGroup && position[Key(before, query)] > position[Key(after, query)])
                || (metricOrder == 0 && !sameGroup && !nullsInvolved && before.Group.CompareTo(after.Group) > 0))
            {
                yield return $"rows out of order at index {i}: {before} before {after}";
            }
        }
    }

    private static int MetricIndex(string metric) => KpiFormulas.Ids.ToList().IndexOf(metric);

    public static bool SameValue(string metric, double? expected, double? actual)
    {
        if (expected is null || actual is null)
        {
            return expected is null && actual is null;
        }
        if (KpiFormulas.Counts.Contains(metric))
        {
            return expected.Value == actual.Value;
        }
        return Close(expected.Value, actual.Value);
    }

    public static bool Close(double expected, double actual) =>
        Math.Abs(expected - actual) <= (Relative * Math.Max(Math.Abs(expected), Math.Abs(actual))) + 1e-9;

    public static bool Close(double? expected, double? actual) =>
        expected is null || actual is null ? expected is null && actual is null : Close(expected.Value, actual.Value);

    public static string Show(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "null";

    private static string Key(KpiRow row, KpiQuery query) => $"{row.Metric}|{row.Group}|{row.Period}|{query.Aggregate}";

    /// <summary>A failure message: the combination, how many differences, and the first few.</summary>
    public static string Describe(string combination, IReadOnlyList<string> differences) =>
        $"{combination}: {differences.Count} difference(s); first: {string.Join(" | ", differences.Take(3))}";

    /// <summary>Fails, naming <paramref name="when"/> and the query, when the answer differs from the reference's rows.</summary>
    public static void AssertSame(List<KpiRow> expected, KpiAnswer answer, KpiQuery query, string when)
    {
        var differences = Differences(expected, answer, query);
        Assert.True(differences.Count == 0, Describe($"{when}: {query}", differences));
    }
}
