using System.Globalization;
using System.Net;
using System.Text.Json;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Reports;

/// <summary>What <c>GET /api/kpi/query</c> answers a token: every row's value by (period, metric, group value).</summary>
public static class ApiFigures
{
    public static async Task<Dictionary<(string Period, string Metric, string? Group), double?>> QueryAsync(
        KpiHub hub, string token, string start, string end, string aggregate, string? groupBy = null)
    {
        var path = $"/api/kpi/query?start_date={start}&end_date={end}&aggregate={aggregate}&limit=100000" + (groupBy is null ? "" : "&group_by=" + groupBy);
        var (status, body) = await hub.Api.GetAsync(path, token);
        Assert.True(status == HttpStatusCode.OK, $"GET {path} answered {(int)status}: {MetricsClient.Clip(body)}");
        using var document = JsonDocument.Parse(body);
        Assert.False(document.RootElement.GetProperty("truncated").GetBoolean());
        var figures = new Dictionary<(string, string, string?), double?>();
        foreach (var row in document.RootElement.GetProperty("data").EnumerateArray())
        {
            var group = groupBy is null ? null : row.GetProperty(groupBy).ValueKind == JsonValueKind.Null ? "" : row.GetProperty(groupBy).GetString();
            figures.Add((row.GetProperty("period").GetString()!, row.GetProperty("metric").GetString()!, group), MetricsClient.NumberOrNull(row.GetProperty("value")));
        }
        return figures;
    }

    /// <summary>A CSV or data-value field: empty is no value.</summary>
    public static double? Parse(string text) => text.Length == 0 ? null : double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    public static double? Change(double? value, double? previous) =>
        value is { } v && previous is { } p && p != 0 ? Math.Round(100.0 * (v - p) / p, 2, MidpointRounding.AwayFromZero) : null;
}
