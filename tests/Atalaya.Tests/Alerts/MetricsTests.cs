using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Alerts;

/// <summary>GET /metrics on a real hub: who may scrape, every documented metric present with real values, and promtool's verdict on the exposition.</summary>
public sealed class MetricsTests
{
    private static readonly string[] Names =
    [
        "atalaya_events_ingested_total", "atalaya_http_requests_total", "atalaya_http_request_duration_seconds_bucket",
        "atalaya_kpi_today", "atalaya_pipeline_last_success_timestamp_seconds", "atalaya_quality_check_failing",
        "atalaya_alerts_firing", "atalaya_event_freshness_seconds",
    ];

    [Fact]
    public async Task Metrics_are_complete_pass_promtool_and_are_for_admins_and_analysts_only()
    {
        // The hub's clock stands at noon UTC today, so "today" holds the events posted 5 minutes
        // earlier whatever the hour the suite runs (at 00:02 they would be yesterday's).
        var clock = new MovableClock();
        // (UtcDateTime.Date: DateTimeOffset.Date is a DateTime that would take the machine's offset back.)
        var now = DateTimeOffset.UtcNow;
        clock.Advance(new DateTimeOffset(now.UtcDateTime.Date.AddHours(12), TimeSpan.Zero) - now);
        await using var hub = await TestHub.StartAsync(o => o with { Time = clock, KpiGaugeInterval = TimeSpan.FromMilliseconds(50) });
        var events = new JsonArray(Events.Valid("purchase_completed"), Events.Valid("lead_created"), Events.Valid("purchase_completed"));
        ((JsonObject)events[0]!)["timestamp"] = clock.GetUtcNow().AddMinutes(-5).ToString("O");
        ((JsonObject)events[1]!)["timestamp"] = clock.GetUtcNow().AddMinutes(-5).ToString("O");
        ((JsonObject)events[2]!).Remove("event_type");
        (await hub.PostEventsAsync(events.ToJsonString())).EnsureSuccessStatusCode();
        var again = new JsonArray(events[0]!.DeepClone());
        (await hub.PostEventsAsync(again.ToJsonString())).EnsureSuccessStatusCode();
        Engine.Jobs.PipelineRuns.Start(hub.Hub.Database, new("run_x", "daily_batch", "", clock.GetUtcNow().AddHours(-1), null, Engine.Jobs.RunStatus.Running, 0, null, "test", "{}"));
        Engine.Jobs.PipelineRuns.Finish(hub.Hub.Database, "run_x", DateTimeOffset.Parse("2026-12-01T00:20:00Z"), Engine.Jobs.RunStatus.Success, 5, null, "{}");

        // The KPI gauges are recomputed in the background (every 50 ms here): scrape until they hold the posted events.
        var analyst = hub.CreateToken(Role.Analyst);
        var text = await ScrapeAsync(hub, analyst, HttpStatusCode.OK);
        for (var waited = 0; waited < 300 && !text.Contains("atalaya_kpi_today{kpi=\"leads\"} 1", StringComparison.Ordinal); waited++)
        {
            await Task.Delay(100);
            text = await ScrapeAsync(hub, analyst, HttpStatusCode.OK);
        }
        foreach (var name in Names)
        {
            Assert.Contains("\n" + name, "\n" + text);
        }
        Has(text, "atalaya_events_ingested_total{source=\"test\",outcome=\"accepted\"} 2");
        Has(text, "atalaya_events_ingested_total{source=\"test\",outcome=\"rejected\"} 1");
        Has(text, "atalaya_events_ingested_total{source=\"test\",outcome=\"duplicate\"} 1");
        Has(text, "atalaya_kpi_today{kpi=\"orders\"} 1");
        Has(text, "atalaya_kpi_today{kpi=\"leads\"} 1");
        Has(text, $"atalaya_pipeline_last_success_timestamp_seconds{{job=\"daily_batch\"}} {DateTimeOffset.Parse("2026-12-01T00:20:00Z").ToUnixTimeSeconds()}");
        Has(text, "atalaya_http_requests_total{route=\"/api/events\",code=\"200\"} 2");
        Has(text, "atalaya_alerts_firing{severity=\"critical\"} 0");

        var (exit, stdout, stderr) = await ExternalTool.RunAsync("promtool", ["check", "metrics"], text);
        Assert.True(exit == 0, $"promtool check metrics: {stdout}{stderr}");

        await ScrapeAsync(hub, hub.CreateToken(Role.Admin), HttpStatusCode.OK);
        await ScrapeAsync(hub, hub.CreateToken(Role.Vendor, stores: ["st-1"]), HttpStatusCode.Forbidden);
        await ScrapeAsync(hub, hub.WriteKey, HttpStatusCode.Forbidden);
        await ScrapeAsync(hub, null, HttpStatusCode.Unauthorized);
    }

    private static void Has(string text, string line) => Assert.True(text.Contains(line, StringComparison.Ordinal), $"missing {line} in:\n{text}");

    private static async Task<string> ScrapeAsync(TestHub hub, string? token, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await hub.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {body}");
        return body;
    }
}
