using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Kpi;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// The marketing KPIs are dictionary entries (source: connector) and ad spend is money like GMV:
/// converted to the reporting currency with the hub's daily FX table (the day's rate, else the
/// closest earlier one), the account's currency kept on the row, a day without a rate left out and
/// listed. Two Meta ad accounts, one in MXN and one in BRL, whose rates are set in the FX table.
/// </summary>
public sealed class MarketingDictionaryTests : IAsyncLifetime
{
    private static readonly DateOnly First = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3);
    private static readonly DateOnly Second = First.AddDays(1);

    private readonly ConnectorSetup _secrets = new();
    private TestHub _hub = null!;
    private FakeMetaAds _meta = null!;
    private string _admin = "";

    public async Task InitializeAsync()
    {
        _hub = await TestHub.StartAsync();
        _admin = _hub.CreateToken(Role.Admin);
        _meta = await FakeMetaAds.StartAsync();
        _meta.Rows.Add(("2001", First, "c1", 100.25, 1000, 10, 2));
        _meta.Rows.Add(("2001", First, "c2", 50.5, 500, 5, 1));
        _meta.Rows.Add(("2001", Second, "c1", 80, 800, 8, 4));
        _meta.Rows.Add(("2002", First, "b1", 30, 300, 3, 1));
        _meta.Rows.Add(("2002", Second, "b1", 40, 400, 4, 2));
        var credentials = _secrets.Secret("meta.token", _meta.Token);
        var config = ConnectorSetup.Config($$"""
              meta_ads:
                base_url: {{_meta.Server.Url}}
                credentials_file_env: {{credentials}}
                ad_accounts:
                  - {account_id: "2001", app_id: shop-web, platform: web, currency: MXN}
                  - {account_id: "2002", app_id: shop-br, platform: web, currency: BRL}
            """);
        var outcome = await new ConnectorRunner(ConnectorRows.For(_hub.Hub.Database, null), _hub.Hub.Marts, config, KpiDictionary.Default, TimeProvider.System)
            .RunAsync(new ConnectorRequest("meta_ads", First, Second), "run_marketing_fx_test");
        Assert.Null(outcome.ErrorClass);
        // MXN has a rate on the first day only (the second uses it); BRL only from the second day.
        _hub.Hub.Fx.Set("MXN", First, 0.055m);
        _hub.Hub.Fx.Set("BRL", Second, 0.2m);
    }

    public async Task DisposeAsync()
    {
        await _meta.DisposeAsync();
        await _hub.DisposeAsync();
        _secrets.Dispose();
    }

    private async Task<JsonElement> GetAsync(string pathAndQuery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _admin);
        using var response = await _hub.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{pathAndQuery}: {(int)response.StatusCode} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Definitions_list_the_marketing_KPIs_as_connector_KPIs_with_their_units_and_dimensions()
    {
        var definitions = await GetAsync("/api/kpi/definitions");
        var kpis = definitions.GetProperty("kpis").EnumerateArray().ToDictionary(k => k.GetProperty("id").GetString()!);
        foreach (var id in MarketingKpis.Ids)
        {
            var k = kpis[id];
            Assert.Equal("connector", k.GetProperty("source").GetString());
            Assert.Equal(["source"], k.GetProperty("group_by").EnumerateArray().Select(g => g.GetString()!));
            Assert.Equal(["source", "app_id"], k.GetProperty("filters").EnumerateArray().Select(g => g.GetString()!));
            Assert.False(string.IsNullOrWhiteSpace(k.GetProperty("definition").GetString()));
        }
        Assert.Equal(("currency", "ratio"), (kpis["ad_spend"].GetProperty("unit").GetString(), kpis["roas"].GetProperty("unit").GetString()));
        Assert.Equal("events", kpis["gmv"].GetProperty("source").GetString());
        Assert.Equal(["purchase_completed"], kpis["gmv"].GetProperty("events").EnumerateArray().Select(e => e.GetString()!));
        Assert.True(KpiDictionary.Default.TryGet("cpi", out var cpi) && cpi.IsConnector);
    }

    [Fact]
    public async Task Ad_spend_is_converted_with_the_fx_table_and_a_day_without_a_rate_is_left_out_and_listed()
    {
        var answer = await GetAsync($"/api/kpi/query?metric=ad_spend,cpi&group_by=source&aggregate=daily&start_date={First:yyyy-MM-dd}&end_date={Second:yyyy-MM-dd}");

        Assert.Equal("USD", answer.GetProperty("currency").GetString());
        var spend = answer.GetProperty("data").EnumerateArray().Where(r => r.GetProperty("metric").GetString() == "ad_spend")
            .ToDictionary(r => r.GetProperty("period").GetString()!, r => r.GetProperty("value").GetDouble());
        // Plain computation: each account's day in its currency × the rate of that day or the closest earlier one.
        var first = Math.Round(100.25 + 50.5, 2) * 0.055;
        var second = 80 * 0.055 + 40 * 0.2;
        Assert.Equal(first, spend[First.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)], 9);
        Assert.Equal(second, spend[Second.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)], 9);
        var cpi = answer.GetProperty("data").EnumerateArray().Single(r => r.GetProperty("metric").GetString() == "cpi"
            && r.GetProperty("period").GetString() == Second.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Assert.Equal(second / (4 + 2), cpi.GetProperty("value").GetDouble(), 9);

        var missing = Assert.Single(answer.GetProperty("fx_missing").EnumerateArray());
        Assert.Equal((First.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), "meta_ads", "BRL", 30.0),
            (missing.GetProperty("date").GetString(), missing.GetProperty("source").GetString(), missing.GetProperty("currency").GetString(), missing.GetProperty("amount").GetDouble()));
        // The original currency stays recorded on the rows the connector wrote.
        Assert.Equal(2, Jobs.JobTestData.Count(_hub.Hub.Database, "SELECT count(DISTINCT currency) FROM fact_kpi_daily WHERE metric = 'spend';"));
        Assert.Equal(0, Jobs.JobTestData.Count(_hub.Hub.Database, "SELECT count(*) FROM fact_kpi_daily WHERE metric <> 'spend' AND currency IS NOT NULL;"));
    }
}
