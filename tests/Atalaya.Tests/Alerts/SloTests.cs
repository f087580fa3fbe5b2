using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Slo;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Alerts;

/// <summary>SLOs: requests are counted per objective, GET /api/slo reports 30-day attainment and error budget (checked against a plain computation), and the monthly report appends to the data folder's log.</summary>
public sealed class SloTests
{
    [Fact]
    public async Task Api_counts_requests_and_computes_attainment_and_error_budget()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        // 30 days ago and within: 1000 collector requests, 995 without a 5xx.
        var hour = SloStore.HourKey(DateTimeOffset.UtcNow.AddDays(-3));
        SloStore.Add(hub.Hub.Database, [(hour, SloObjectives.CollectorAvailability, 995, 1000), (SloStore.HourKey(DateTimeOffset.UtcNow.AddDays(-40)), SloObjectives.CollectorAvailability, 0, 500)]);
        (await hub.PostEventsAsync(new System.Text.Json.Nodes.JsonArray(Events.Valid("lead_created")).ToJsonString())).EnsureSuccessStatusCode();
        await SendAsync(hub, admin, "/api/alerts");

        using var slo = JsonDocument.Parse(await (await SendAsync(hub, admin, "/api/slo")).Content.ReadAsStringAsync());
        var rows = slo.RootElement.GetProperty("data").EnumerateArray().ToDictionary(r => r.GetProperty("slo").GetString()!);
        Assert.Equal(SloObjectives.All.Select(o => o.Name).Order(), rows.Keys.Order());
        var collector = rows[SloObjectives.CollectorAvailability];
        Assert.Equal((996L, 1001L), (collector.GetProperty("good").GetInt64(), collector.GetProperty("total").GetInt64()));
        Assert.Equal(996.0 / 1001, collector.GetProperty("attainment").GetDouble(), 9);
        Assert.Equal(1 - 5 / (1001 * (1 - 0.999)), collector.GetProperty("error_budget_remaining").GetDouble(), 9);
        Assert.False(collector.GetProperty("met").GetBoolean());
        var ingest = rows[SloObjectives.IngestToVisible];
        Assert.Equal(1, ingest.GetProperty("total").GetInt64());
        Assert.Equal(1, rows[SloObjectives.ReadLatency].GetProperty("total").GetInt64()); // the /api/alerts read; this /api/slo call is counted after it answers

        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(hub, hub.CreateToken(Role.Vendor, stores: ["st-1"]), "/api/slo")).StatusCode);
    }

    [Fact]
    public async Task The_monthly_report_appends_to_the_log_in_the_data_folder()
    {
        var data = Path.Combine(Path.GetTempPath(), "atalaya-slo-" + Guid.NewGuid().ToString("N"));
        try
        {
            var database = Engine.Storage.HubDatabase.Open(data);
            SloStore.Add(database, [("2026-10-05T10", SloObjectives.ReadLatency, 990, 1000), ("2026-10-31T23", SloObjectives.ReadLatency, 10, 10), ("2026-11-01T00", SloObjectives.ReadLatency, 0, 50)]);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

            var first = await AtalayaProcess.RunAsync("slo", "report", "--month", "2026-10", "--data", data);
            var second = await AtalayaProcess.RunAsync("slo", "report", "--month", "2026-10", "--data", data);
            var bad = await AtalayaProcess.RunAsync("slo", "report", "--month", "2026-13", "--data", data);

            Assert.Equal(0, first.ExitCode);
            Assert.Contains("read_latency", first.Stdout, StringComparison.Ordinal);
            var lines = await File.ReadAllLinesAsync(Path.Combine(data, SloReport.LogFileName));
            Assert.Equal(2, lines.Length);
            using var entry = JsonDocument.Parse(lines[0]);
            Assert.Equal("2026-10", entry.RootElement.GetProperty("month").GetString());
            var read = entry.RootElement.GetProperty("slos").EnumerateArray().Single(s => s.GetProperty("slo").GetString() == "read_latency");
            Assert.Equal(1000.0 / 1010, read.GetProperty("attainment").GetDouble(), 6);
            Assert.True(read.GetProperty("met").GetBoolean());
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains("--month: '2026-13' is not a month", bad.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static Task<HttpResponseMessage> SendAsync(TestHub hub, string token, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return hub.Client.SendAsync(request);
    }
}
