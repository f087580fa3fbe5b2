using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Kpi;

/// <summary>The metrics API over HTTP: access, parameter errors, freshness, live updates, restarts, OpenAPI.</summary>
public sealed class MetricsApiTests
{
    private static JsonObject Purchase(string orderId, double total, DateTime at, string store = "st-1")
    {
        var e = Events.Valid("purchase_completed");
        e["timestamp"] = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        e["properties"]!["order_id"] = orderId;
        e["properties"]!["store_id"] = store;
        e["properties"]!["total"] = total;
        e["properties"]!["currency"] = "USD";
        e["properties"]!["items"] = new JsonArray(new JsonObject { ["product_id"] = "p-1", ["quantity"] = 1, ["price"] = total });
        return e;
    }

    private static async Task<JsonElement> GetAsync(TestHub hub, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await hub.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(TestHub hub, string? token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await hub.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static double Gmv(JsonElement answer) => answer.GetProperty("data").EnumerateArray()
        .Where(r => r.GetProperty("metric").GetString() == "gmv").Sum(r => r.GetProperty("value").GetDouble());

    [Fact]
    public async Task Read_endpoints_refuse_missing_unknown_revoked_tokens_and_write_keys()
    {
        await using var hub = await TestHub.StartAsync();
        var (info, secret) = hub.Hub.Tokens.Create(new TokenRequest(Role.Analyst, "a"));
        foreach (var path in new[] { "/api/kpi/query", "/api/kpi/summary", "/api/kpi/timeseries?metric=gmv", "/api/kpi/definitions",
            "/api/analysis/funnel?steps=a,b", "/api/analysis/retention", "/api/analysis/top-products", "/api/kpi/events" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(hub, null, path)).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(hub, "atl_admin_nope", path)).Status);
            Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, hub.WriteKey, path)).Status);
        }
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(hub, secret, "/api/kpi/definitions")).Status);
        // Revoked in the server's own store: refused by the very next request, no cache to wait for.
        hub.Hub.Tokens.Revoke(info.Id);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(hub, secret, "/api/kpi/definitions")).Status);
    }

    [Theory]
    [InlineData("/api/kpi/query?metric=gmvv", "metric")]
    [InlineData("/api/kpi/query?aggregate=yearly", "aggregate")]
    [InlineData("/api/kpi/query?start_date=2026-13-01", "start_date")]
    [InlineData("/api/kpi/query?start_date=2026-03-02&end_date=2026-03-01", "end_date")]
    [InlineData("/api/kpi/query?tz=Mars/Olympus", "tz")]
    [InlineData("/api/kpi/query?group_by=planet", "group_by")]
    [InlineData("/api/kpi/query?limit=0", "limit")]
    [InlineData("/api/kpi/query?country=", "country")]
    [InlineData("/api/kpi/query?colour=red", "colour")]
    [InlineData("/api/kpi/timeseries", "metric")]
    [InlineData("/api/kpi/timeseries?metric=gmv&hours=9999", "hours")]
    [InlineData("/api/analysis/funnel?steps=page_view", "steps")]
    [InlineData("/api/analysis/funnel?steps=a,b&window=-5", "window")]
    [InlineData("/api/analysis/retention?period=day", "period")]
    [InlineData("/api/analysis/top-products?order_by=price", "order_by")]
    public async Task Bad_parameters_answer_400_naming_the_parameter(string path, string parameter)
    {
        await using var hub = await TestHub.StartAsync();
        var (status, body) = await SendAsync(hub, hub.CreateToken(Role.Admin), path);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(parameter, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_is_in_the_figures_as_soon_as_its_post_is_acknowledged()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var response = await hub.PostEventsAsync(Purchase("o-now", 120.25, DateTime.UtcNow).ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await GetAsync(hub, admin, "/api/kpi/query?metric=gmv&start_date=today");
        Assert.Equal(120.25, Gmv(answer), 6);
        Assert.Equal(1, answer.GetProperty("count").GetInt32());
        Assert.Equal(1, answer.GetProperty("kpi_versions").GetProperty("gmv").GetInt32());
    }

    [Fact]
    public async Task A_later_purchase_with_an_earlier_timestamp_becomes_the_order_and_moves_it_to_its_day()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var yesterday = DateTime.UtcNow.Date.AddDays(-1).AddHours(12);
        await hub.PostEventsAsync(Purchase("o-1", 50, DateTime.UtcNow).ToJsonString());
        await hub.PostEventsAsync(Purchase("o-1", 70, yesterday).ToJsonString());
        var answer = await GetAsync(hub, admin, "/api/kpi/query?metric=orders,gmv&start_date=2d");
        var rows = answer.GetProperty("data").EnumerateArray().ToList();
        double Value(string metric, DateTime day) => rows.Single(r => r.GetProperty("metric").GetString() == metric
            && r.GetProperty("period").GetString() == day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).GetProperty("value").GetDouble();
        Assert.Equal(1, Value("orders", yesterday));
        Assert.Equal(70, Value("gmv", yesterday));
        Assert.Equal(0, Value("orders", DateTime.UtcNow));
        Assert.Equal(0, Value("gmv", DateTime.UtcNow));
    }

    [Fact]
    public async Task A_store_created_after_its_events_gives_them_its_country()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var purchase = Purchase("o-5", 10, DateTime.UtcNow, store: "st-late");
        purchase["context"]!["country"] = "CO";
        await hub.PostEventsAsync(purchase.ToJsonString());
        Assert.Equal("CO", (await GetAsync(hub, admin, "/api/kpi/query?metric=orders&start_date=today&group_by=country"))
            .GetProperty("data")[0].GetProperty("country").GetString());

        var store = Events.Valid("store_created");
        store["properties"]!["store_id"] = "st-late";
        store["properties"]!["country"] = "CL";
        await hub.PostEventsAsync(store.ToJsonString());
        var rows = (await GetAsync(hub, admin, "/api/kpi/query?metric=orders&start_date=today&group_by=country&country=CL")).GetProperty("data");
        Assert.Equal(1, rows.GetArrayLength());
        Assert.Equal(1, rows[0].GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task The_event_stream_sends_a_summary_at_once_and_a_new_one_within_a_second_of_an_event()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/events?metric=orders");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        using var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        async Task<JsonElement> NextSummaryAsync()
        {
            while (true)
            {
                var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15));
                if (line?.StartsWith("data: ", StringComparison.Ordinal) == true)
                {
                    return JsonDocument.Parse(line[6..]).RootElement.Clone();
                }
            }
        }

        var first = await NextSummaryAsync();
        Assert.Equal(0, first.GetProperty("data")[0].GetProperty("today").GetDouble());
        Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(Purchase("o-live", 9, DateTime.UtcNow).ToJsonString())).StatusCode);
        // The next summary is the changed one, long before the 10 s heartbeat would send anything
        // (how soon is measured by `bench delays`, not timed here).
        var next = await NextSummaryAsync();
        Assert.Equal(1, next.GetProperty("data")[0].GetProperty("today").GetDouble());
    }

    [Fact]
    public async Task Figures_are_identical_after_a_restart_from_the_snapshot_from_raw_and_from_a_corrupt_snapshot()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var start = DateTime.UtcNow.Date.AddDays(-3);
        for (var i = 0; i < 40; i++)
        {
            await hub.PostEventsAsync(Purchase($"o-{i}", 10 + i, start.AddHours(i * 2)).ToJsonString());
        }
        const string Path = "/api/kpi/query?metric=gmv,orders,aov,visitors,new_customers,ltv&start_date=7d&aggregate=hourly";
        var before = (await GetAsync(hub, admin, Path)).GetProperty("data").GetRawText();

        await hub.RestartAsync(); // saves the snapshot on the way down
        var snapshot = Engine.Hub.SnapshotPath(hub.DataDirectory);
        Assert.True(File.Exists(snapshot));
        Assert.Equal(before, (await GetAsync(hub, admin, Path)).GetProperty("data").GetRawText());

        // Events after the snapshot are read from the log at the next start.
        await hub.PostEventsAsync(Purchase("o-after", 5, start.AddHours(1)).ToJsonString());
        var withLater = (await GetAsync(hub, admin, Path)).GetProperty("data").GetRawText();
        await hub.RestartAsync();
        Assert.Equal(withLater, (await GetAsync(hub, admin, Path)).GetProperty("data").GetRawText());

        await hub.RestartAsync(() => File.Delete(snapshot));
        Assert.Null(hub.Hub.Kpis.SnapshotProblem);
        Assert.Equal(withLater, (await GetAsync(hub, admin, Path)).GetProperty("data").GetRawText());

        await hub.RestartAsync(() => File.WriteAllBytes(snapshot, [1, 2, 3, 4, 5]));
        Assert.NotNull(hub.Hub.Kpis.SnapshotProblem);
        Assert.Equal(withLater, (await GetAsync(hub, admin, Path)).GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task The_openapi_document_describes_every_metrics_endpoint_and_its_parameters()
    {
        await using var hub = await TestHub.StartAsync();
        var document = JsonDocument.Parse(await hub.Client.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/kpi/query", "/api/kpi/summary", "/api/kpi/timeseries", "/api/kpi/events", "/api/kpi/definitions",
            "/api/analysis/funnel", "/api/analysis/retention", "/api/analysis/top-products", "/api/events", "/v1/batch", "/healthz", "/readyz" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
        }
        var parameters = paths.GetProperty("/api/kpi/query").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToHashSet();
        foreach (var name in new[] { "metric", "start_date", "end_date", "aggregate", "group_by", "tz", "limit", "country", "hub", "zone",
            "source", "platform", "store_id", "category", "app_id" })
        {
            Assert.Contains(name, parameters);
        }
    }

    [Fact]
    public async Task Definitions_list_every_kpi_with_its_version_and_history()
    {
        await using var hub = await TestHub.StartAsync();
        var answer = await GetAsync(hub, hub.CreateToken(Role.Analyst), "/api/kpi/definitions");
        var ids = answer.GetProperty("kpis").EnumerateArray().Select(k => k.GetProperty("id").GetString()).ToList();
        // Every event KPI the engine evaluates, then the connector KPIs (issue 15) it answers from fact_kpi_daily.
        Assert.Equal([.. Enum.GetValues<Engine.Kpi.KpiId>().Select(Engine.Kpi.KpiIds.Name), .. Engine.Connectors.MarketingKpis.Ids], ids);
        foreach (var kpi in answer.GetProperty("kpis").EnumerateArray())
        {
            Assert.True(kpi.GetProperty("version").GetInt32() >= 1);
            Assert.NotEqual(0, kpi.GetProperty("changes").GetArrayLength());
        }
        Assert.NotEqual(0, answer.GetProperty("rules").GetArrayLength());
    }
}
