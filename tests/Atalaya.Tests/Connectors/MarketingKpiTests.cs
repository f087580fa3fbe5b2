using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Kpi;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// ad_spend, impressions, clicks, installs, cpi and roas through /api/kpi/query on a real hub: the
/// Meta connector writes spend and installs, the App Store connector its downloads, orders come in
/// as events with their traffic source; figures checked against a plain computation from the same inputs.
/// </summary>
public sealed class MarketingKpiTests : IAsyncLifetime
{
    private static readonly DateOnly Day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2);

    private readonly ConnectorSetup _secrets = new();
    private TestHub _hub = null!;
    private FakeMetaAds _meta = null!;
    private string _admin = "";

    public async Task InitializeAsync()
    {
        _hub = await TestHub.StartAsync();
        _admin = _hub.CreateToken(Role.Admin);
        _meta = await FakeMetaAds.StartAsync();
        _meta.Rows.Add(("1001", Day, "c1", 2.5, 1000, 30, 5));
        _meta.Rows.Add(("1001", Day, "c2", 1.5, 600, 10, 3));
        var credentials = _secrets.Secret("meta.token", _meta.Token);
        var config = ConnectorSetup.Config($$"""
              meta_ads:
                base_url: {{_meta.Server.Url}}
                credentials_file_env: {{credentials}}
                ad_accounts:
                  - {account_id: "1001", app_id: shop-web, platform: web}
            """);
        var outcome = await new ConnectorRunner(ConnectorRows.For(_hub.Hub.Database, null), _hub.Hub.Marts, config, KpiDictionary.Default, TimeProvider.System)
            .RunAsync(new ConnectorRequest("meta_ads", Day, Day), "run_marketing_test");
        Assert.Null(outcome.ErrorClass);
        using (var connection = _hub.Hub.Database.Connect())
        using (var transaction = connection.BeginTransaction())
        {
            // The App Store's downloads of that day, as its connector writes them.
            ConnectorStore.WriteDay(_hub.Hub.Marts, connection, transaction, "app_store", Day, [new AppTarget("shop-ios", "ios")],
                [new FactRow(Day, "shop-ios", "ios", "installs", 40)], _ => 1, "run_app_store_test");
            transaction.Commit();
        }

        var at = Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var b = new EventBuilder("mk");
        var facebook = Place.Mexico with { Source = "facebook" };
        var instagram = Place.Mexico with { Source = "instagram" };
        b.Order($"{at}T10:00:00Z", "o-fb-1", "s-1", "u1", "sess-1", total: 200m, place: facebook);
        b.Order($"{at}T11:00:00Z", "o-ig-1", "s-1", "u2", "sess-2", total: 100m, place: instagram);
        b.Order($"{at}T12:00:00Z", "o-google-1", "s-1", "u3", "sess-3", total: 1000m, place: Place.Mexico);
        using var response = await _hub.PostEventsAsync(new JsonArray([.. b.Events.Select(e => (JsonNode)e.DeepClone())]).ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _meta.DisposeAsync();
        await _hub.DisposeAsync();
        _secrets.Dispose();
    }

    private async Task<(HttpStatusCode Status, JsonDocument Body)> Query(string query, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/query?" + query);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? _admin);
        using var response = await _hub.Client.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()));
    }

    private string Range => $"start_date={Day:yyyy-MM-dd}&end_date={Day:yyyy-MM-dd}";

    [Fact]
    public async Task Spend_installs_cpi_and_roas_by_source_match_a_plain_computation()
    {
        var (status, body) = await Query($"metric=ad_spend,impressions,clicks,installs,cpi,roas&group_by=source&aggregate=total&{Range}");

        Assert.Equal(HttpStatusCode.OK, status);
        var values = body.RootElement.GetProperty("data").EnumerateArray()
            .ToDictionary(r => r.GetProperty("metric").GetString() + " " + r.GetProperty("source").GetString(),
                r => r.GetProperty("value").ValueKind == JsonValueKind.Null ? (double?)null : r.GetProperty("value").GetDouble());
        var spend = 2.5 + 1.5;
        var metaInstalls = 5 + 3;
        // Orders whose source is a Meta channel (facebook, instagram), in USD at the events' frozen rate.
        var metaGmv = (200 + 100) * 0.05;
        Assert.Equal(spend, values["ad_spend meta_ads"]);
        Assert.Equal(1600, values["impressions meta_ads"]);
        Assert.Equal(40, values["clicks meta_ads"]);
        Assert.Equal(metaInstalls, values["installs meta_ads"]);
        Assert.Equal(40, values["installs app_store"]);
        Assert.Equal(spend / metaInstalls, values["cpi meta_ads"]!.Value, 9);
        Assert.Equal(metaGmv / spend, values["roas meta_ads"]!.Value, 9);
        Assert.Equal(0, values["ad_spend app_store"]);
        Assert.Null(values["cpi app_store"]);
        Assert.Null(values["roas app_store"]);
    }

    [Fact]
    public async Task Without_group_by_cpi_counts_the_installs_of_the_sources_that_spent()
    {
        var (status, body) = await Query($"metric=installs,cpi&{Range}");

        Assert.Equal(HttpStatusCode.OK, status);
        var rows = body.RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(48, rows.Single(r => r.GetProperty("metric").GetString() == "installs").GetProperty("value").GetDouble());
        Assert.Equal(4.0 / 8, rows.Single(r => r.GetProperty("metric").GetString() == "cpi").GetProperty("value").GetDouble(), 9);
    }

    [Theory]
    [InlineData("metric=ad_spend,gmv", "cannot be mixed with event KPIs")]
    [InlineData("metric=ad_spend&aggregate=hourly", "marketing KPIs are daily figures")]
    [InlineData("metric=ad_spend&group_by=country", "group by source only")]
    [InlineData("metric=ad_spend&country=MX", "filtered by source and app_id only")]
    [InlineData("metric=ad_spend&tz=America/Mexico_City", "whole UTC days")]
    public async Task Questions_marketing_KPIs_cannot_answer_are_a_clear_400(string query, string message)
    {
        var (status, body) = await Query(query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, body.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vendor_token_may_not_read_ad_account_figures()
    {
        var vendor = _hub.CreateToken(Role.Vendor, stores: ["s-1"]);

        var (status, _) = await Query($"metric=ad_spend&{Range}", vendor);

        Assert.Equal(HttpStatusCode.Forbidden, status);
    }
}
