using Microsoft.Playwright;

namespace Atalaya.Tests.Dashboard;

/// <summary>
/// The README's pictures: the first screen of each dashboard (vendor, country lead, admin) on the
/// demo data, in Chromium at 1366 px. scripts/screenshots.sh runs this with
/// ATALAYA_README_IMAGES=docs/images; otherwise the pictures go to artifacts/screenshots.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class ReadmeScreenshots(DashboardFixture fixture)
{
    [Theory]
    [InlineData("vendor")]
    [InlineData("country-lead")]
    [InlineData("admin")]
    public async Task Each_dashboard_is_pictured_once_settled(string dashboard)
    {
        var directory = Environment.GetEnvironmentVariable("ATALAYA_README_IMAGES") is { Length: > 0 } target ? target : DashboardFixture.ScreenshotDirectory;
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"dashboard-{dashboard}.png");
        File.Delete(path);
        await using var page = await DashboardPage.OpenAsync(fixture, new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1366, Height = 900 } });
        await page.LogInAsync(dashboard switch { "vendor" => fixture.VendorToken, "country-lead" => fixture.LeadToken, _ => fixture.AdminToken });
        await page.Page.WaitForFunctionAsync("() => document.querySelector('#live').dataset.state === 'live'");

        await page.Page.ScreenshotAsync(new PageScreenshotOptions { Path = path });

        Assert.True(new FileInfo(path).Length > 10_000, $"{path} is missing or blank");
        Assert.Empty(page.ConsoleErrors);
    }
}
