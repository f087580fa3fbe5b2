using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.Jobs;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Alerts;

/// <summary>
/// deploy/: the alerting rules pass their promtool unit tests, and a real Prometheus on 127.0.0.1
/// scraping a real hub (with the analyst token, as deploy/prometheus/prometheus.yml does) answers
/// every query of both Grafana dashboards, with data where the hub has data.
/// </summary>
public sealed class PrometheusTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "deploy");

    /// <summary>Panels that may rightly be empty on a healthy test hub (no 5xx, no Prometheus alert yet, no channel).</summary>
    private static readonly string[] MayBeEmpty = ["HTTP errors (requests/s)", "Prometheus alerts firing", "Notifications: dead letters and open circuits"];

    [Fact]
    public async Task The_alerting_rules_pass_their_promtool_unit_tests()
    {
        var check = await ExternalTool.RunAsync("promtool", ["check", "rules", "rules.yml"], workingDirectory: Path.Combine(Deploy, "prometheus"));
        Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
        var test = await ExternalTool.RunAsync("promtool", ["test", "rules", "rules_test.yml"], workingDirectory: Path.Combine(Deploy, "prometheus"));
        Assert.True(test.ExitCode == 0, test.Stdout + test.Stderr);
    }

    [Fact]
    public async Task Prometheus_scrapes_a_real_hub_and_answers_every_dashboard_query()
    {
        // KPI gauges are recomputed in the background; every 200 ms here, so the seeded events show within a scrape or two.
        await using var hub = await TestHub.StartAsync(o => o with { KpiGaugeInterval = TimeSpan.FromMilliseconds(200) });
        await SeedAsync(hub);
        var folder = Path.Combine(hub.DataDirectory, "prometheus");
        Directory.CreateDirectory(folder);
        var tokenFile = Path.Combine(folder, "atalaya.token");
        await File.WriteAllTextAsync(tokenFile, hub.CreateToken(Role.Analyst));
        var port = ExternalTool.FreePort();
        await File.WriteAllTextAsync(Path.Combine(folder, "prometheus.yml"), $"""
            global: {"{"}scrape_interval: 1s, evaluation_interval: 1s{"}"}
            rule_files: ["{Path.Combine(Deploy, "prometheus", "rules.yml")}"]
            scrape_configs:
              - job_name: atalaya
                authorization: {"{"}type: Bearer, credentials_file: "{tokenFile}"{"}"}
                static_configs: [{"{"}targets: ["{hub.BaseAddress.Authority}"]{"}"}]
            """);
        var prometheus = ExternalTool.Start("prometheus", $"--config.file={Path.Combine(folder, "prometheus.yml")}",
            $"--storage.tsdb.path={Path.Combine(folder, "tsdb")}", $"--web.listen-address=127.0.0.1:{port}");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            // rate() needs two samples in its window: wait for a few scrapes.
            await Wait.UntilAsync(async () => await ValueAsync(http, "count_over_time(up{job=\"atalaya\"}[5m]) >= 4 and up{job=\"atalaya\"} == 1") is not null,
                "Prometheus to scrape the hub four times", 90);
            await Wait.UntilAsync(async () => await ValueAsync(http, "atalaya_kpi_last24h{kpi=\"leads\"}") == 3,
                "a scrape holding the seeded leads", 30);
            var problems = new List<string>();
            foreach (var file in new[] { "operations.json", "kpi.json" })
            {
                var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Deploy, "grafana", file)))!;
                foreach (var panel in dashboard["panels"]!.AsArray())
                {
                    var title = panel!["title"]!.GetValue<string>();
                    var results = 0;
                    foreach (var target in panel["targets"]!.AsArray())
                    {
                        var expr = target!["expr"]!.GetValue<string>();
                        var (status, count, error) = await QueryAsync(http, expr);
                        if (status != "success")
                        {
                            problems.Add($"{file} / {title}: {expr} → {error}");
                        }
                        results += count;
                    }
                    if (results == 0 && !MayBeEmpty.Contains(title))
                    {
                        problems.Add($"{file} / {title}: no data");
                    }
                }
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems));

            // The figures Prometheus holds are the hub's: 3 leads and 2 orders over the last 24 h.
            Assert.Equal(3, await ValueAsync(http, "atalaya_kpi_last24h{kpi=\"leads\"}"));
            Assert.Equal(2, await ValueAsync(http, "atalaya_kpi_last24h{kpi=\"orders\"}"));
            Assert.Equal(300, await ValueAsync(http, "atalaya_kpi_last24h_by_country{kpi=\"revenue\",country=\"MX\"}"));
        }
        finally
        {
            ExternalTool.Stop(prometheus);
        }
    }

    private static async Task SeedAsync(TestHub hub)
    {
        var now = DateTimeOffset.UtcNow;
        var events = new JsonArray();
        void Add(string type, DateTimeOffset at, Action<JsonObject>? change = null)
        {
            var e = Events.Valid(type);
            e["timestamp"] = at.ToString("O", CultureInfo.InvariantCulture);
            change?.Invoke(e);
            events.Add(e);
        }
        for (var i = 0; i < 3; i++)
        {
            Add("lead_created", now.AddHours(-2 - i), e => e["properties"]!["lead_id"] = $"l-{i}");
        }
        for (var i = 0; i < 2; i++)
        {
            Add("purchase_completed", now.AddHours(-1 - i), e => { e["properties"]!["order_id"] = $"o-{i}"; e["properties"]!["currency"] = "USD"; });
            Add("payment_succeeded", now.AddHours(-1 - i), e => { e["properties"]!["payment_id"] = $"p-{i}"; e["properties"]!["amount"] = 150; e["properties"]!["currency"] = "USD"; });
        }
        for (var d = 1; d <= 7; d++)
        {
            Add("payment_succeeded", now.AddDays(-d).AddHours(-3), e => { e["properties"]!["payment_id"] = $"old-{d}"; e["properties"]!["amount"] = 400; e["properties"]!["currency"] = "USD"; });
        }
        (await hub.PostEventsAsync(events.ToJsonString())).EnsureSuccessStatusCode();
        var id = PipelineRuns.NewRunId(now.AddHours(-3));
        PipelineRuns.Start(hub.Hub.Database, new PipelineRun(id, "daily_batch", "", now.AddHours(-3), null, RunStatus.Running, 0, null, "test", "{}"));
        PipelineRuns.Finish(hub.Hub.Database, id, now.AddHours(-3).AddMinutes(1), RunStatus.Success, 10, null, "{}");
        // A read, so that the latency panels have a read route too.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/alerts");
        request.Headers.Authorization = new("Bearer", hub.CreateToken(Role.Admin));
        (await hub.Client.SendAsync(request)).EnsureSuccessStatusCode();
    }

    private static async Task<(string Status, int Count, string? Error)> QueryAsync(HttpClient http, string expr)
    {
        using var response = await http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(expr));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        var status = root.GetProperty("status").GetString()!;
        if (status != "success")
        {
            return (status, 0, root.GetProperty("error").GetString());
        }
        var result = root.GetProperty("data").GetProperty("result");
        return (status, result.ValueKind == JsonValueKind.Array ? result.GetArrayLength() : 1, null);
    }

    private static async Task<double?> ValueAsync(HttpClient http, string expr)
    {
        try
        {
            using var response = await http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(expr));
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var result = body.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0 ? null : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException)
        {
            return null; // not listening, or not ready yet (it answers 503 in plain text while starting)
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("the repository root (Atalaya.slnx) is not above " + AppContext.BaseDirectory);
    }
}
