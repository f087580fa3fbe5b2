using Atalaya.Engine.Reports;
using Atalaya.Tests.Dashboard;
using Microsoft.Playwright;

namespace Atalaya.Tests.Reports;

/// <summary>
/// The HTML reports in real headless Chromium: opened from a file as a mail client or an archive
/// would, they render with no console error and ask for nothing but themselves, fit a 360 px phone
/// without sideways scrolling, and print on A4. Screenshots land in artifacts/screenshots.
/// </summary>
[Collection(ReportCollection.Name)]
public sealed class ReportBrowserTests(ReportFixture fixture)
{
    [Theory]
    [InlineData("weekly", "all", "es-MX")]
    [InlineData("weekly", "store", "sv-SE")]
    [InlineData("monthly", "all", "en")]
    [InlineData("monthly", "country", "es-CO")]
    public async Task An_html_report_renders_in_chromium_with_no_console_error_and_no_request_but_itself(string kind, string scopeKind, string locale)
    {
        ReportKinds.TryParse(kind, out var reportKind);
        var scope = scopeKind switch { "store" => ReportScope.Store(ReportFixture.VendorStore), "country" => ReportScope.Country("CO"), _ => ReportScope.All };
        var report = fixture.Build(reportKind, reportKind == ReportKind.Monthly ? ReportFixture.LastMonth : ReportFixture.Yesterday, scope, locale);
        var folder = Directory.CreateTempSubdirectory("atalaya-report-html-");
        var path = Path.Combine(folder.FullName, report.FileName);
        await File.WriteAllBytesAsync(path, report.Content);
        var url = new Uri(path).AbsoluteUri;

        var browser = await fixture.BrowserAsync();
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1024, Height = 900 } });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        var requests = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type is "error" or "warning")
            {
                errors.Add($"{m.Type}: {m.Text}");
            }
        };
        page.PageError += (_, e) => errors.Add("page error: " + e);
        page.Request += (_, r) => requests.Add(r.Url);
        page.RequestFailed += (_, r) => errors.Add($"failed request: {r.Url}");
        await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });

        Assert.Empty(errors);
        Assert.Equal([url], requests);
        Assert.Equal(locale == "en" ? "en" : locale[..2], await page.GetAttributeAsync("html", "lang"));
        var charts = await page.Locator("svg.chart").CountAsync();
        Assert.True(charts >= 2, $"{charts} charts");
        Assert.True(await page.Locator("svg.chart rect").CountAsync() > 10, "the charts have no bars");
        Assert.Equal(0, await page.Locator("script, link, img, iframe, object, embed").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotDirectory, $"report-{report.Id}.png"), FullPage = true });

        // A phone: nothing wider than the screen; wide tables scroll inside their own box.
        await page.SetViewportSizeAsync(360, 740);
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"the page is {overflow} px wider than a 360 px phone");
        var smallest = await page.EvaluateAsync<double>("() => Math.min(...[...document.querySelectorAll('td, th, p, h1, h2, figcaption, .axis span, .bar span')].map(e => parseFloat(getComputedStyle(e).fontSize)))");
        Assert.True(smallest >= 12, $"text as small as {smallest} px on a phone");

        // A4: printable, and the print styles keep it to a few pages.
        var pdf = await page.PdfAsync(new PagePdfOptions { Format = "A4", PreferCSSPageSize = true, PrintBackground = true });
        Assert.Equal("%PDF"u8.ToArray(), pdf[..4]);
        var pages = System.Text.RegularExpressions.Regex.Count(System.Text.Encoding.Latin1.GetString(pdf), @"/Type\s*/Page[^s]");
        Assert.InRange(pages, 1, 5);
        folder.Delete(recursive: true);
    }
}
