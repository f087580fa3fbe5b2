using Atalaya.Engine.Access;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Kpi.Http;
using Microsoft.Playwright;

namespace Atalaya.Tests.Dashboard;

/// <summary>
/// One hub with two weeks of demo data ending now, a token per dashboard role, and one headless
/// Debian Chromium driven by Playwright (no browser is downloaded). Each test opens its own
/// browser context, so sessionStorage and routes never leak between tests.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string VendorStore = "mx-003";
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public KpiHub Hub { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public string AdminToken => Hub.AdminToken;

    public string LeadToken { get; private set; } = "";

    public string VendorToken { get; private set; } = "";

    public Uri BaseAddress => Hub.Server.BaseAddress;

    /// <summary>Where screenshots go: artifacts/screenshots at the repository root.</summary>
    public static string ScreenshotDirectory
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
            {
                directory = directory.Parent;
            }
            var path = Path.Combine(directory?.FullName ?? AppContext.BaseDirectory, "artifacts", "screenshots");
            Directory.CreateDirectory(path);
            return path;
        }
    }

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (scripts/test.sh does).");
        }
        Hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 14, Seed: 42, SessionsPerDay: 400), o => o with { BenchmarkMinimumPeers = 2 });
        LeadToken = Hub.Server.Hub.Tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead MX", Countries: ["MX"])).Secret;
        VendorToken = Hub.Server.Hub.Tokens.Create(new TokenRequest(Role.Vendor, "vendor " + VendorStore, Stores: [VendorStore])).Secret;
        // As serve --demo does: the marts and the data-quality findings, so the admin's runs and quality panels are real.
        Jobs.JobTestData.Run(Hub, "daily_batch");
        Jobs.JobTestData.Run(Hub, Engine.JobCatalog.QualityJob);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        await Hub.DisposeAsync();
    }
}
