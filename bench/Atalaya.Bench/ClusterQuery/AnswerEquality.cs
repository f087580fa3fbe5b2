using System.Globalization;
using System.Text.Json;

namespace Atalaya.Bench.ClusterQuery;

/// <summary>
/// Whether a cluster node's answer says the same as the embedded hub's: the same rows, names and
/// texts, and numbers equal to within a billionth of their size (as ClusterAnswerTests' check). Not
/// bit for bit: a node adds up the events in ClickHouse's order rather than the embedded log's, and
/// a sum of doubles can then differ in its 15th digit, far below a cent.
/// </summary>
public static class AnswerEquality
{
    /// <summary>Relative tolerance of a number (absolute below 1: a figure near 0 is not held to a billionth of itself).</summary>
    public const double Tolerance = 1e-9;

    /// <summary>
    /// Null when the two answers agree, else where they first differ (a JSON path and both values).
    /// A KPI answer is compared on its <c>data</c> (beside it are notes about the answering node's
    /// own state, such as its freshness); an analysis answer is all figures and compared whole.
    /// </summary>
    public static string? FirstDifference(string embedded, string node) => Compare(embedded, node).Difference;

    /// <summary>As <see cref="FirstDifference"/>, with how many numbers were found equal (all of them when the answers agree).</summary>
    public static (string? Difference, int Numbers) Compare(string embedded, string node)
    {
        using var e = JsonDocument.Parse(embedded);
        using var n = JsonDocument.Parse(node);
        var (left, right, path) = e.RootElement.TryGetProperty("data", out var data) && n.RootElement.TryGetProperty("data", out var nodeData)
            ? (data, nodeData, "$.data")
            : (e.RootElement, n.RootElement, "$");
        var numbers = 0;
        return (Difference(left, right, path, ref numbers), numbers);
    }

    /// <summary>True when the answer holds a figure other than 0, so that agreeing on it says something.</summary>
    public static bool HasFigure(string answer)
    {
        using var document = JsonDocument.Parse(answer);
        return HasFigure(document.RootElement);
    }

    private static bool HasFigure(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble() != 0,
        JsonValueKind.Array => e.EnumerateArray().Any(HasFigure),
        JsonValueKind.Object => e.EnumerateObject().Any(p => HasFigure(p.Value)),
        _ => false,
    };

    private static string? Difference(JsonElement e, JsonElement n, string path, ref int numbers)
    {
        if (e.ValueKind != n.ValueKind)
        {
            return $"{path}: {Short(e)} vs {Short(n)}";
        }
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                var (a, b) = (e.GetDouble(), n.GetDouble());
                if (Math.Abs(a - b) <= Tolerance * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b))))
                {
                    numbers++;
                    return null;
                }
                return string.Create(CultureInfo.InvariantCulture, $"{path}: {a:R} vs {b:R}");
            case JsonValueKind.Array:
                var (left, right) = (e.EnumerateArray().ToList(), n.EnumerateArray().ToList());
                for (var i = 0; i < Math.Min(left.Count, right.Count); i++)
                {
                    if (Difference(left[i], right[i], string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]"), ref numbers) is { } found)
                    {
                        return found;
                    }
                }
                return left.Count == right.Count ? null : $"{path}: {left.Count} rows vs {right.Count}";
            case JsonValueKind.Object:
                var (names, nodeNames) = (e.EnumerateObject().Select(p => p.Name).ToList(), n.EnumerateObject().Select(p => p.Name).ToList());
                if (!names.SequenceEqual(nodeNames))
                {
                    return $"{path}: fields {string.Join(',', names)} vs {string.Join(',', nodeNames)}";
                }
                foreach (var name in names)
                {
                    if (Difference(e.GetProperty(name), n.GetProperty(name), $"{path}.{name}", ref numbers) is { } found)
                    {
                        return found;
                    }
                }
                return null;
            default:
                return e.GetRawText() == n.GetRawText() ? null : $"{path}: {Short(e)} vs {Short(n)}";
        }
    }

    private static string Short(JsonElement e)
    {
        var text = e.GetRawText();
        return text.Length > 60 ? text[..60] + "…" : text;
    }
}
