using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// The App Store connector against a local salesReports server: the ES256 token it checks, the
/// gzip'd TSV summed per app and product type, a day without sales (404 NOT_FOUND) as an empty
/// day, a key it refuses, a report that is not gzip, and a column that disappeared.
/// </summary>
public sealed class AppStoreConnectorTests : IAsyncLifetime
{
    private static readonly DateOnly Day = ConnectorSetup.Day("2026-11-20");

    private readonly ConnectorSetup _setup = new();
    private FakeAppStore _store = null!;
    private string _credentials = "";

    public async Task InitializeAsync()
    {
        _store = await FakeAppStore.StartAsync();
        _credentials = _setup.Secret("AuthKey.p8", _store.P8());
        _store.Sales[Day] =
        [
            ("111", "1", 40, "US"), ("111", "1F", 7, "MX"), ("111", "7", 300, "US"), ("111", "IA1", 5, "US"),
            ("222", "1T", 3, "SE"), ("999", "1", 1000, "US"),
        ];
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _setup.Dispose();
    }

    private EnvironmentConfig Config(string keyId = "2X9R4HXF34") => ConnectorSetup.Config($$"""
          app_store:
            base_url: {{_store.Server.Url}}
            credentials_file_env: {{_credentials}}
            key_id: {{keyId}}
            issuer_id: {{_store.IssuerId}}
            vendor_number: "{{_store.VendorNumber}}"
            apps:
              - {apple_id: "111", app_id: shop-ios, platform: ios}
              - {apple_id: "222", app_id: shop-ipad, platform: ios}
            max_retries: 1
            retry_base_delay_seconds: 0.01
        """);

    [Fact]
    public void Sums_the_gzip_report_per_app_and_product_type()
    {
        var run = _setup.Run(Config(), "app_store", Day, Day);

        Assert.Equal(RunStatus.Success, run.Status);
        var facts = _setup.Facts("app_store");
        Assert.Equal(47, facts["2026-11-20 shop-ios ios installs"]);
        Assert.Equal(300, facts["2026-11-20 shop-ios ios updates"]);
        Assert.Equal(5, facts["2026-11-20 shop-ios ios in_app_purchases"]);
        Assert.Equal(3, facts["2026-11-20 shop-ipad ios installs"]);
        Assert.Equal(0, facts["2026-11-20 shop-ipad ios updates"]);
        // Apple ID 999 is not mapped: left out, and said so.
        Assert.Contains("Apple IDs not in connectors.app_store.apps were left out: 999", run.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_apps_asked_for_are_written()
    {
        var run = _setup.Run(Config(), "app_store", Day, Day, apps: new HashSet<string> { "shop-ipad" });

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.All(_setup.Facts("app_store").Keys, k => Assert.Contains("shop-ipad", k, StringComparison.Ordinal));
    }

    [Fact]
    public void A_day_without_sales_is_an_empty_day_not_a_failure()
    {
        var quiet = Day.AddDays(-1);

        var run = _setup.Run(Config(), "app_store", quiet, quiet);

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Contains("no sales reported", run.Details, StringComparison.Ordinal);
        Assert.Empty(_setup.Facts("app_store"));
        Assert.Empty(_setup.DeadLetters());
    }

    [Fact]
    public void A_token_signed_for_another_key_id_is_refused_as_auth()
    {
        var run = _setup.Run(Config(keyId: "WRONGKEY01"), "app_store", Day.AddDays(-2), Day);

        Assert.Equal("auth", ConnectorSetup.ErrorClass(run));
        Assert.Contains("NOT_AUTHORIZED", run.ErrorMessage, StringComparison.Ordinal);
        // Auth fails fast: one call, the other two days not tried.
        Assert.Equal(1, _store.Server.Hits("report"));
        Assert.Equal(3, _setup.DeadLetters().Count);
    }

    [Fact]
    public void A_report_that_is_not_gzip_is_a_schema_failure()
    {
        _store.Server.Enqueue("report", Faults.Status(200, "Provider\tUnits\n", contentType: "application/a-gzip"));

        var run = _setup.Run(Config(), "app_store", Day, Day);

        Assert.Equal("schema", ConnectorSetup.ErrorClass(run));
        Assert.Contains("not gzip'd", run.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(_setup.Facts("app_store"));
    }

    [Fact]
    public void A_report_without_the_units_column_is_a_schema_failure()
    {
        _store.DroppedColumn = "Units";

        var run = _setup.Run(Config(), "app_store", Day, Day);

        Assert.Equal("schema", ConnectorSetup.ErrorClass(run));
        Assert.Contains("no column 'Units'", run.ErrorMessage, StringComparison.Ordinal);
    }
}
