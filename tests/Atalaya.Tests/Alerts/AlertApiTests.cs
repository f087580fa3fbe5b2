using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Alerts;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Jobs;
using Atalaya.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Atalaya.Tests.Alerts;

/// <summary>GET /api/alerts and POST /api/alerts/{id}/ack on a real hub: scoped like every read, audited; and the alert loop inside serve.</summary>
public sealed class AlertApiTests
{
    private const string Rules = """
        environment: dev
        alerts:
          rules:
            - {name: mx-orders, kpi: orders, window: 1h, below: 5, scope: {country: MX}}
            - {name: co-orders, kpi: orders, window: 1h, below: 5, scope: {country: CO}}
            - {name: store-orders, kpi: orders, window: 1h, below: 5, scope: {store_id: st-1}}
            - {name: batch-missed, pipeline: daily_batch, max_age: 26h, severity: critical}
        """;

    [Fact]
    public async Task Each_reader_sees_the_alerts_its_scope_covers_and_every_call_is_audited()
    {
        var config = EnvironmentFiles.Parse(Rules, "test.yaml", "dev");
        await using var hub = await TestHub.StartAsync(o => o with { Config = config });
        new AlertEngine(hub.Hub.Database, hub.Hub.Kpis, AlertRuleSet.Compile(config), TimeSpan.FromHours(4)).Evaluate();

        var admin = hub.CreateToken(Role.Admin);
        var mxLead = hub.CreateToken(Role.CountryOpsLead, countries: ["MX"]);
        var vendor = hub.CreateToken(Role.Vendor, stores: ["st-1"]);
        Assert.Equal(["batch-missed", "co-orders", "mx-orders", "store-orders"], Rules_(await GetAsync(hub, admin, "/api/alerts")));
        Assert.Equal(["mx-orders"], Rules_(await GetAsync(hub, mxLead, "/api/alerts")));
        Assert.Equal(["store-orders"], Rules_(await GetAsync(hub, vendor, "/api/alerts?state=firing")));
        Assert.Empty(Rules_(await GetAsync(hub, admin, "/api/alerts?state=resolved")));

        using var all = await GetAsync(hub, admin, "/api/alerts");
        var mx = all.RootElement.GetProperty("data").EnumerateArray().Single(a => a.GetProperty("rule").GetString() == "mx-orders");
        Assert.Equal("firing", mx.GetProperty("state").GetString());
        Assert.Equal(0, mx.GetProperty("value").GetDouble());
        Assert.Equal(5, mx.GetProperty("threshold").GetDouble());
        Assert.Equal("MX", mx.GetProperty("scope").GetProperty("country")[0].GetString());
        Assert.Equal(JsonValueKind.Null, mx.GetProperty("resolved_at").ValueKind);
        var co = all.RootElement.GetProperty("data").EnumerateArray().Single(a => a.GetProperty("rule").GetString() == "co-orders").GetProperty("alert_id").GetString();

        // A country lead acknowledges its own alert, not another country's.
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(hub, mxLead, $"/api/alerts/{co}/ack")).StatusCode);
        using var acked = JsonDocument.Parse(await (await PostAsync(hub, mxLead, $"/api/alerts/{mx.GetProperty("alert_id").GetString()}/ack")).Content.ReadAsStringAsync());
        Assert.StartsWith("tok_", acked.RootElement.GetProperty("acknowledged_by").GetString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(hub, admin, HttpMethod.Get, "/api/alerts?state=open")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(hub, admin, HttpMethod.Get, "/api/alerts?colour=red")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(hub, null, HttpMethod.Get, "/api/alerts")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, hub.WriteKey, HttpMethod.Get, "/api/alerts")).StatusCode);

        using var connection = hub.Hub.Database.Connect();
        var audited = AuditLog.Query(connection, null, null, null, null, 100).Where(r => r.Entry.Action.Contains("/api/alerts", StringComparison.Ordinal)).ToList();
        Assert.Equal(9, audited.Count);
        Assert.Contains(audited, r => r.Entry.Action.EndsWith("/ack", StringComparison.Ordinal) && r.Entry.Status == 404);
        Assert.Contains(audited, r => r.Entry.Action == "GET /api/alerts" && r.Entry.Rows == 1 && r.Entry.Injected.Contains("MX", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_evaluates_on_its_timer_notifies_once_and_resolves()
    {
        await using var receiver = await Receiver.StartAsync();
        var variable = "ATALAYA_TEST_HOOK_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        Environment.SetEnvironmentVariable(variable, "k3y-" + Guid.NewGuid().ToString("N"));
        try
        {
            var config = EnvironmentFiles.Parse($$"""
                environment: dev
                alerts:
                  evaluate_every: 100ms
                  channels:
                    - {name: ops, type: webhook, url: "{{receiver.Url}}", secret_env: {{variable}}}
                  rules:
                    - {name: batch-missed, pipeline: daily_batch, max_age: 26h, severity: critical, channels: [ops]}
                """, "test.yaml", "dev");
            await using var hub = await TestHub.StartAsync(o => o with { Config = config, RunAlerts = true });
            var service = hub.Services.GetRequiredService<AlertService>();
            await Wait.UntilAsync(() => Task.FromResult(receiver.Accepted.Any()), "the firing notification");
            var cycles = service.Cycles;
            await Wait.UntilAsync(() => Task.FromResult(service.Cycles >= cycles + 3), "three more cycles");
            Assert.Single(receiver.Accepted); // fired once, not once per cycle

            var id = PipelineRuns.NewRunId(DateTimeOffset.UtcNow);
            PipelineRuns.Start(hub.Hub.Database, new PipelineRun(id, "daily_batch", "", DateTimeOffset.UtcNow, null, RunStatus.Running, 0, null, "test", "{}"));
            PipelineRuns.Finish(hub.Hub.Database, id, DateTimeOffset.UtcNow, RunStatus.Success, 0, null, "{}");
            await Wait.UntilAsync(() => Task.FromResult(receiver.Accepted.Count() == 2), "the resolved notification");
            using var resolved = JsonDocument.Parse(receiver.Accepted.Last().Body);
            Assert.Equal("resolved", resolved.RootElement.GetProperty("status").GetString());
            using var alerts = await GetAsync(hub, hub.CreateToken(Role.Analyst), "/api/alerts");
            Assert.Equal("resolved", alerts.RootElement.GetProperty("data")[0].GetProperty("state").GetString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    private static List<string> Rules_(JsonDocument document)
    {
        using (document)
        {
            return [.. document.RootElement.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("rule").GetString()!).Order(StringComparer.Ordinal)];
        }
    }

    private static async Task<JsonDocument> GetAsync(TestHub hub, string token, string path)
    {
        using var response = await SendAsync(hub, token, HttpMethod.Get, path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body);
    }

    private static Task<HttpResponseMessage> PostAsync(TestHub hub, string token, string path) => SendAsync(hub, token, HttpMethod.Post, path);

    private static Task<HttpResponseMessage> SendAsync(TestHub hub, string? token, HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return hub.Client.SendAsync(request);
    }
}
