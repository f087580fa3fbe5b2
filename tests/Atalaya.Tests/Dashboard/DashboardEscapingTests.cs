using System.Globalization;
using System.Net;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;
using Microsoft.Playwright;

namespace Atalaya.Tests.Dashboard;

/// <summary>
/// Names come from clients (products, stores, hubs, sources): a chart's tooltip shows them as text,
/// never as markup. ECharts inserts tooltip formatters' strings as HTML, and the page's CSP stops
/// scripts but not an injected image or link.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardEscapingTests(DashboardFixture fixture)
{
    private const string Hostile = "<img src=x onerror=alert(1)>";

    [Fact]
    public async Task A_product_named_with_markup_shows_as_text_in_the_chart_tooltip()
    {
        await using var hub = await TestHub.StartAsync();
        // The most-viewed chart is on the vendor view; the product is in the vendor's store (st-1).
        var vendor = hub.CreateToken(Role.Vendor, stores: ["st-1"]);
        for (var i = 0; i < 3; i++)
        {
            var view = Events.Valid("product_viewed");
            view["timestamp"] = DateTime.UtcNow.AddMinutes(-30 - i).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            view["properties"]!["product_id"] = "p-hostile";
            view["properties"]!["product_name"] = Hostile;
            Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(view.ToJsonString())).StatusCode);
        }

        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = hub.BaseAddress.ToString(), Locale = "en-US" });
        try
        {
            context.SetDefaultTimeout(20_000);
            var page = await context.NewPageAsync();
            var dialogs = new List<string>();
            page.Dialog += async (_, dialog) =>
            {
                dialogs.Add(dialog.Message);
                await dialog.DismissAsync();
            };
            await page.GotoAsync("/");
            await page.FillAsync("#token", vendor);
            await page.ClickAsync("#login-form button[type=submit]");
            await page.WaitForFunctionAsync("() => document.querySelector('#panel-most-viewed')?.dataset.state === 'ready'");

            // Hover the product's bar the way a pointer does, through ECharts' own action.
            await page.EvaluateAsync("""
                () => {
                  const node = [...document.querySelectorAll('#panel-most-viewed *')].find(n => window.echarts.getInstanceByDom(n));
                  window.echarts.getInstanceByDom(node).dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: 0 });
                }
                """);
            await page.WaitForFunctionAsync($"() => document.querySelector('#panel-most-viewed').textContent.includes({System.Text.Json.JsonSerializer.Serialize(Hostile)})");

            Assert.Equal(0, await page.Locator("#panel-most-viewed img").CountAsync());
            Assert.Equal(0, await page.Locator("img[src=x]").CountAsync());
            Assert.Empty(dialogs);
        }
        finally
        {
            await context.CloseAsync();
        }
    }
}
