using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi.Http;

/// <summary>Calls the read endpoints of a running hub with an admin token and parses their answers into the reference's types.</summary>
public sealed class MetricsClient(HttpClient client, string token)
{
    public async Task<(HttpStatusCode Status, string Body)> GetAsync(string pathAndQuery, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (bearer != "")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer ?? token);
        }
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>GETs and parses a 200 answer; anything else fails the test with the status and body.</summary>
    public async Task<JsonElement> GetJsonAsync(string pathAndQuery)
    {
        var (status, body) = await GetAsync(pathAndQuery);
        Assert.True(status == HttpStatusCode.OK, $"GET {pathAndQuery} answered {(int)status}: {Clip(body)}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    public async Task<KpiAnswer> QueryAsync(KpiQuery query)
    {
        var json = await GetJsonAsync("/api/kpi/query?" + query.ToQueryString());
        return KpiAnswer.Parse(json, query);
    }

    public async Task<List<FunnelStep>> FunnelAsync(string query)
    {
        var json = await GetJsonAsync("/api/analysis/funnel?" + query);
        return [.. json.GetProperty("steps").EnumerateArray().Select(s => new FunnelStep(
            s.GetProperty("step").GetString()!, s.GetProperty("users").GetInt32(),
            NumberOrNull(s.GetProperty("conversion_from_previous")), NumberOrNull(s.GetProperty("conversion_from_first"))))];
    }

    public async Task<List<RetentionRow>> RetentionAsync(string query)
    {
        var json = await GetJsonAsync("/api/analysis/retention?" + query);
        return [.. json.GetProperty("data").EnumerateArray().Select(r => new RetentionRow(
            r.GetProperty("cohort").GetString()!, r.GetProperty("periods_since_first").GetInt32(), r.GetProperty("users").GetInt32()))];
    }

    public async Task<List<ProductRow>> TopProductsAsync(string query)
    {
        var json = await GetJsonAsync("/api/analysis/top-products?" + query);
        return [.. json.GetProperty("data").EnumerateArray().Select(r => new ProductRow(
            r.GetProperty("product_id").GetString()!,
            r.GetProperty("product_name").ValueKind == JsonValueKind.String ? r.GetProperty("product_name").GetString() : null,
            r.GetProperty("store_id").GetString()!,
            r.GetProperty("revenue").GetDouble(), r.GetProperty("units").GetDouble(),
            r.GetProperty("orders").GetInt32(), r.GetProperty("views").GetInt32()))];
    }

    public async Task<(List<SummaryRow> Rows, DateTimeOffset AsOf)> SummaryAsync(string query)
    {
        var json = await GetJsonAsync("/api/kpi/summary?" + query);
        var rows = json.GetProperty("data").EnumerateArray().Select(r => new SummaryRow(
            r.GetProperty("metric").GetString()!, NumberOrNull(r.GetProperty("today")), NumberOrNull(r.GetProperty("yesterday")),
            NumberOrNull(r.GetProperty("avg_7d")), NumberOrNull(r.GetProperty("change_vs_yesterday_pct")),
            NumberOrNull(r.GetProperty("change_vs_avg_7d_pct")))).ToList();
        return (rows, json.GetProperty("as_of").GetDateTimeOffset());
    }

    public async Task<List<(string Period, double? Value)>> TimeseriesAsync(string query)
    {
        var json = await GetJsonAsync("/api/kpi/timeseries?" + query);
        return [.. json.GetProperty("data").EnumerateArray().Select(r => (r.GetProperty("period").GetString()!, NumberOrNull(r.GetProperty("value"))))];
    }

    public static double? NumberOrNull(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetDouble();

    public static string Clip(string text) => text.Length <= 600 ? text : text[..600] + "…";
}
