using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Connectors;

namespace Atalaya.Tests.Dashboard;

public sealed partial class DashboardTests
{
    [Fact]
    public async Task Admin_sees_ad_spend_installs_cpi_and_roas_per_source_equal_to_the_api()
    {
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        using (var connection = fixture.Hub.Server.Hub.Database.Connect())
        using (var transaction = connection.BeginTransaction())
        {
            // What the Meta and App Store connectors write for a day.
            ConnectorStore.WriteDay(fixture.Hub.Server.Hub.Marts, connection, transaction, "meta_ads", day, [new AppTarget("shop-android", "android")],
                [new FactRow(day, "shop-android", "android", "spend", 40), new FactRow(day, "shop-android", "android", "installs", 8)], _ => 1, "run_dashboard_meta");
            ConnectorStore.WriteDay(fixture.Hub.Server.Hub.Marts, connection, transaction, "app_store", day, [new AppTarget("shop-ios", "ios")],
                [new FactRow(day, "shop-ios", "ios", "installs", 100)], _ => 1, "run_dashboard_app_store");
            transaction.Commit();
        }
        await using var page = await DashboardPage.OpenAsync(fixture);
        await page.LogInAsync(fixture.AdminToken);

        var panels = await page.PanelStatesAsync();

        Assert.Equal("ready", panels["marketing"]);
        Assert.Equal(["meta_ads", "app_store"], await page.Page.EvalOnSelectorAllAsync<string[]>("#panel-marketing tbody tr", "rows => rows.map(r => r.dataset.key)"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/query?metric=ad_spend,installs,cpi,roas&aggregate=total&group_by=source&start_date=7d");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminToken);
        using var client = new HttpClient { BaseAddress = fixture.BaseAddress };
        using var response = await client.SendAsync(request);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        foreach (var row in answer.RootElement.GetProperty("data").EnumerateArray().Where(r => r.GetProperty("value").ValueKind == JsonValueKind.Number))
        {
            var cell = await page.Page.GetAttributeAsync(
                $"#panel-marketing tr[data-key='{row.GetProperty("source").GetString()}'] td[data-col='{row.GetProperty("metric").GetString()}']", "data-value");
            Assert.Equal(row.GetProperty("value").GetDouble(), double.Parse(cell!, CultureInfo.InvariantCulture), 6);
        }
        Assert.Equal(5, double.Parse((await page.Page.GetAttributeAsync("#panel-marketing tr[data-key='meta_ads'] td[data-col='cpi']", "data-value"))!, CultureInfo.InvariantCulture));
        Assert.Empty(page.ConsoleErrors);
    }
}
