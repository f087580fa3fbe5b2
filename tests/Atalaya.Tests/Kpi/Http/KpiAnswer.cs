using System.Text.Json;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi.Http;

/// <summary>A parsed <c>/api/kpi/query</c> answer: its rows in the order given, and the counts it reports.</summary>
public sealed record KpiAnswer(List<KpiRow> Rows, int Count, int? Total, bool? Truncated)
{
    /// <summary>Marks a group_by key missing from a row (as opposed to present and null).</summary>
    public const string Missing = "<missing>";

    public static KpiAnswer Parse(JsonElement json, KpiQuery query)
    {
        var rows = json.GetProperty("data").EnumerateArray().Select(row => new KpiRow(
            row.GetProperty("metric").GetString()!,
            row.GetProperty("period").GetString()!,
            new GroupKey([.. query.GroupBy.Select(name => !row.TryGetProperty(name, out var v) ? Missing : v.ValueKind == JsonValueKind.Null ? null : v.ToString())]),
            MetricsClient.NumberOrNull(row.GetProperty("value")))).ToList();
        return new KpiAnswer(rows, json.GetProperty("count").GetInt32(),
            json.TryGetProperty("total", out var total) ? total.GetInt32() : null,
            json.TryGetProperty("truncated", out var truncated) ? truncated.GetBoolean() : null);
    }
}
