using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Http;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// Answers a client can use as they are: figures without binary noise, parameters echoed with their
/// JSON types, HEAD on the dashboard, and an OpenAPI document that says what the endpoints really do.
/// </summary>
public sealed class ApiAnswerShapeTests
{
    [Theory]
    [InlineData(327.31319899999994, 327.313199)]
    [InlineData(0.30000000000000004, 0.3)]
    [InlineData(1234567.8900000001, 1234567.89)]
    [InlineData(-42.099999999999994, -42.1)]
    [InlineData(0, 0)]
    [InlineData(12.5, 12.5)]
    public void Figures_lose_their_binary_noise_and_nothing_else(double raw, double clean)
    {
        Assert.Equal(clean, KpiJson.Clean(raw));
        Assert.True(Math.Abs(KpiJson.Clean(raw) - raw) <= Math.Abs(raw) * 1e-14);
    }

    [Fact]
    public async Task Answers_carry_clean_figures_and_typed_parameters()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var at = DateTime.UtcNow.Date.AddHours(-12);
        // 0.1 + 0.2 is 0.30000000000000004 in binary floating point.
        foreach (var (order, total) in new[] { ("o-a", 0.1), ("o-b", 0.2) })
        {
            var e = Events.Valid("purchase_completed");
            e["timestamp"] = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            e["properties"]!["order_id"] = order;
            e["properties"]!["total"] = total;
            e["properties"]!["currency"] = "USD";
            e["properties"]!["items"] = new JsonArray(new JsonObject { ["product_id"] = "p-1", ["quantity"] = 1, ["price"] = total });
            Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(e.ToJsonString())).StatusCode);
        }

        var gmv = await GetTextAsync(hub, admin, "/api/kpi/query?metric=gmv&start_date=7d&aggregate=total");
        Assert.Contains("\"value\":0.3", gmv);
        Assert.DoesNotContain("0.30000000000000004", gmv);

        using var funnel = JsonDocument.Parse(await GetTextAsync(hub, admin, "/api/analysis/funnel?steps=page_view,purchase_completed&window=600"));
        var funnelParams = funnel.RootElement.GetProperty("params");
        Assert.Equal(600, funnelParams.GetProperty("window").GetInt32());
        Assert.Equal(["page_view", "purchase_completed"], funnelParams.GetProperty("steps").EnumerateArray().Select(s => s.GetString()));
        using var top = JsonDocument.Parse(await GetTextAsync(hub, admin, "/api/analysis/top-products?limit=5"));
        Assert.Equal(JsonValueKind.Number, top.RootElement.GetProperty("params").GetProperty("limit").ValueKind);
    }

    [Fact]
    public async Task Head_on_the_dashboard_answers_200_without_a_body()
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task The_openapi_document_says_what_the_endpoints_do()
    {
        await using var hub = await TestHub.StartAsync();
        using var document = JsonDocument.Parse(await hub.Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        var paths = document.RootElement.GetProperty("paths");

        foreach (var path in new[] { "/api/kpi/timeseries", "/api/kpi/benchmark" })
        {
            var metric = paths.GetProperty(path).GetProperty("get").GetProperty("parameters").EnumerateArray()
                .Single(p => p.GetProperty("name").GetString() == "metric");
            Assert.True(metric.GetProperty("required").GetBoolean(), path);
            Assert.DoesNotContain("Default: every KPI", metric.GetProperty("description").GetString(), StringComparison.Ordinal);
        }

        var created = paths.GetProperty("/api/tokens").GetProperty("post").GetProperty("responses");
        Assert.True(created.TryGetProperty("201", out _));
        Assert.False(created.TryGetProperty("200", out _));
    }

    private static async Task<string> GetTextAsync(TestHub hub, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await hub.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return text;
    }
}
