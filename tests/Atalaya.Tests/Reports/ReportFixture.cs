using System.Globalization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Reports;
using Atalaya.Tests.Kpi.Http;
using Microsoft.Playwright;

namespace Atalaya.Tests.Reports;

/// <summary>
/// One real hub with ten weeks of demo data ending now (so last month is whole whatever the day),
/// tokens for each kind of reader, the stores the data names, and a headless Debian Chromium opened
/// on first use.
/// </summary>
public sealed class ReportFixture : IAsyncLifetime
{
    public const string VendorStore = "mx-003";
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public KpiHub Hub { get; private set; } = null!;

    public string VendorToken { get; private set; } = "";

    public string LeadToken { get; private set; } = "";

    /// <summary>A lead of MX narrowed to one hub: a whole country's report holds more than it may see.</summary>
    public string NarrowLeadToken { get; private set; } = "";

    /// <summary>Every store the events name: id, name, country.</summary>
    public IReadOnlyList<(string Id, string Name, string Country)> Stores { get; private set; } = [];

    public static DateOnly Yesterday => DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

    public static DateOnly LastMonth => ReportPeriod.DefaultDate(ReportKind.Monthly, DateOnly.FromDateTime(DateTime.UtcNow));

    public async Task InitializeAsync()
    {
        Hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 70, Seed: 14, SessionsPerDay: 150));
        var tokens = Hub.Server.Hub.Tokens;
        VendorToken = tokens.Create(new TokenRequest(Role.Vendor, "vendor " + VendorStore, Stores: [VendorStore])).Secret;
        LeadToken = tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead MX", Countries: ["MX"])).Secret;
        using var connection = Hub.Server.Hub.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT DISTINCT json_extract(event, '$.properties.store_id'), json_extract(event, '$.properties.store_name'),
                   json_extract(event, '$.properties.country'), json_extract(event, '$.properties.hub')
            FROM raw_events WHERE event_type = 'store_created' ORDER BY 1;
            """;
        using var reader = command.ExecuteReader();
        var stores = new List<(string, string, string)>();
        string? mexicanHub = null;
        while (reader.Read())
        {
            stores.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            mexicanHub ??= reader.GetString(2) == "MX" ? reader.GetString(3) : null;
        }
        Stores = stores;
        NarrowLeadToken = tokens.Create(new TokenRequest(Role.CountryOpsLead, "lead MX one hub", Countries: ["MX"], Hubs: [mexicanHub!])).Secret;
        Assert.Contains(Stores, s => s.Id == VendorStore);
    }

    /// <summary>Builds a report with the engine of the running hub, as the jobs and the command line do.</summary>
    public ReportFile Build(ReportKind kind, DateOnly date, ReportScope scope, string locale = "en") =>
        new ReportBuilder(Hub.Server.Hub.Kpis).Build(new ReportRequest(kind, date, scope, locale), DateTimeOffset.UtcNow);

    public async Task<IBrowser> BrowserAsync()
    {
        if (_browser is null)
        {
            if (!File.Exists(ChromiumPath))
            {
                throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (scripts/test.sh does).");
            }
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run"],
            });
        }
        return _browser;
    }

    public static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }
        _playwright?.Dispose();
        await Hub.DisposeAsync();
    }
}

/// <summary>The report tests share one hub and one browser.</summary>
[CollectionDefinition(Name)]
public sealed class ReportCollection : ICollectionFixture<ReportFixture>
{
    public const string Name = "Reports";
}
