using System.Collections.Concurrent;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Quality;
using Atalaya.Tests.Dashboard;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace Atalaya.Tests.Collect;

/// <summary>
/// The real browser SDKs — Segment analytics-next and RudderStack analytics-js v3, bundled from
/// npm by tests/sdk/build-browser.mjs — in Debian's headless Chromium, on a storefront served from
/// a second origin on loopback, sending to the hub and to nothing else. What the hub counted:
/// Segment visits get derived sessions (one bounce, one purchase), RudderStack's identify traits
/// in context.traits are kept, its beacon mode delivers to /beacon/v1/batch?writeKey=, and the
/// schema-drift check reports none of the SDKs' own properties.
/// </summary>
public sealed class BrowserSdkTests
{
    [Fact]
    public async Task Segment_and_rudderstack_browser_sdks_on_a_second_origin_are_counted_as_sent()
    {
        Assert.True(File.Exists(DashboardFixture.ChromiumPath), $"{DashboardFixture.ChromiumPath} is missing: install Debian's chromium (scripts/test.sh does).");
        var sdk = SegmentSpecTests.SdkFolder();
        await SegmentSpecTests.RunNodeAsync("build-browser.mjs");
        await using var hub = await KpiHub.StartEmptyAsync();
        await using var shop = await StartStorefrontAsync(sdk);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = DashboardFixture.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        var requests = new ConcurrentQueue<string>();
        var hubUrl = hub.Server.BaseAddress.ToString().TrimEnd('/');

        // Three visitors, each in a fresh browser profile: a Segment bounce, a Segment purchase, a RudderStack visit.
        foreach (var (sdkName, scenario) in new[] { ("segment", "bounce"), ("segment", "buy"), ("rudder", "visit") })
        {
            await using var context = await browser.NewContextAsync();
            // Nothing may leave loopback: a call to a vendor (settings, CDN, plugins) is refused and fails the test below.
            await context.RouteAsync("**/*", route =>
            {
                requests.Enqueue(route.Request.Method + " " + route.Request.Url);
                return new Uri(route.Request.Url).IsLoopback ? route.ContinueAsync() : route.AbortAsync();
            });
            var page = await context.NewPageAsync();
            var url = $"{shop.BaseAddress}storefront.html?sdk={sdkName}&scenario={scenario}&hub={Uri.EscapeDataString(hubUrl)}&key={Uri.EscapeDataString(hub.Server.WriteKey)}";
            await page.GotoAsync(url);
            await page.WaitForFunctionAsync("() => window.sdkDone !== undefined", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
            Assert.Equal("ok", await page.EvaluateAsync<string>("() => window.sdkDone"));
            await WaitForAsync(() => StoredEvents.Count(hub.Server.DataDirectory) >= Total(scenario), $"{sdkName} {scenario}: the events to be stored");
        }

        Assert.All(requests, r => Assert.Contains("//127.0.0.1:", r, StringComparison.Ordinal));
        Assert.Contains(requests, r => r.StartsWith($"POST {hubUrl}/beacon/v1/batch?writeKey=", StringComparison.Ordinal));

        var stored = StoredEvents.All(hub.Server.DataDirectory);
        Assert.Equal(7, stored.Count);
        Assert.DoesNotContain(stored, e => e.TryGetProperty("custom", out _));
        Assert.All(stored.Where(e => e.GetProperty("event_type").GetString() != "identify"),
            e => Assert.False(string.IsNullOrEmpty(e.GetProperty("session_id").GetString()), "every visit event is in a session"));
        var identify = Assert.Single(stored, e => e.GetProperty("event_type").GetString() == "identify");
        var traits = identify.GetProperty("properties").GetProperty("traits");
        Assert.Equal(("ana@example.com", "pro"), (traits.GetProperty("email").GetString(), traits.GetProperty("plan").GetString()));
        var order = Assert.Single(stored, e => e.GetProperty("event_type").GetString() == "purchase_completed");
        Assert.Equal("Google Store", order.GetProperty("properties").GetProperty("store_id").GetString());

        // Three sessions (Segment: a bounce and a purchase, derived; RudderStack: its own), one of them a bounce.
        // The day the browsers' clocks put the order on (not the test's clock, which may have passed midnight since).
        var today = DateOnly.FromDateTime(DateTimeOffset.Parse(order.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture).UtcDateTime);
        var figures = await SegmentSpecTests.KpisAsync(hub, today, "sessions", "bounce_rate", "orders", "gmv", "conversion_rate");
        Assert.Equal(3.0, figures["sessions"]);
        Assert.Equal(100.0 / 3, figures["bounce_rate"], 1);
        Assert.Equal((1.0, 27.5), (figures["orders"], figures["gmv"]));
        Assert.Equal(100.0 / 3, figures["conversion_rate"], 1);

        JobTestData.Run(hub, "daily_batch");
        var run = JobTestData.Run(hub, JobCatalog.QualityJob);
        Assert.All(QualityResults.Read(hub.Server.Hub.Database, run.RunId).Where(f => f.Check == "schema_drift"),
            f => Assert.True(f.Status == QualityStatus.Ok, $"{f.Subject}: {f.Message}"));

        // Stored so far after each visitor: a page; then a page, Product Viewed, Order Completed; then identify, page, Product Added.
        static int Total(string scenario) => scenario switch { "bounce" => 1, "buy" => 4, _ => 7 };
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(100);
        }
        Assert.True(condition(), $"timed out waiting for {what}");
    }

    /// <summary>The storefront's own origin: its page, the SDK bundles and the spec's examples, on a loopback port of its own.</summary>
    private static async Task<Storefront> StartStorefrontAsync(string sdkFolder)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var files = new Dictionary<string, (string Path, string Type)>
        {
            ["/storefront.html"] = (Path.Combine(sdkFolder, "browser", "storefront.html"), "text/html; charset=utf-8"),
            ["/dist/segment.js"] = (Path.Combine(sdkFolder, "dist", "segment.js"), "text/javascript"),
            ["/dist/rudder.js"] = (Path.Combine(sdkFolder, "dist", "rudder.js"), "text/javascript"),
            ["/spec-examples.json"] = (Path.Combine(sdkFolder, "spec-examples.json"), "application/json"),
        };
        app.Run(async context =>
        {
            if (files.TryGetValue(context.Request.Path.Value ?? "", out var file))
            {
                context.Response.ContentType = file.Type;
                await context.Response.SendFileAsync(file.Path);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status404NotFound;
        });
        await app.StartAsync();
        return new Storefront(app, new Uri(app.Urls.First().TrimEnd('/') + "/"));
    }

    private sealed record Storefront(WebApplication App, Uri BaseAddress) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await App.DisposeAsync();
    }
}
