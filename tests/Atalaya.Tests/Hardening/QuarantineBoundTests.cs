using System.Globalization;
using System.Net;
using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.Collect;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Hardening;

/// <summary>
/// Quarantine amplification is bounded: a request's first N rejected events are stored whole, the
/// rest counted; a source's stored rejections per clock hour are bounded too. The answer still
/// names every rejected event, and the quality check still counts every rejection.
/// </summary>
public sealed class QuarantineBoundTests
{
    [Fact]
    public async Task A_request_of_100000_empty_events_writes_100_rows_and_counts_the_rest()
    {
        await using var hub = await TestHub.StartAsync();
        var body = "[" + string.Join(",", Enumerable.Repeat("{}", 100_000)) + "]";

        var response = await hub.PostEventsAsync(body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True((int)response.StatusCode is 200 or 400, text[..Math.Min(300, text.Length)]);
        Assert.Equal(100_000, System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("rejected").GetArrayLength());
        Assert.Equal(IngestOptions.DefaultQuarantinePerRequest.ToString(CultureInfo.InvariantCulture), Single(hub.DataDirectory, "SELECT count(*) FROM failed_events;"));
        Assert.Equal("[0,99]", Single(hub.DataDirectory, "SELECT json_array(min(request_index), max(request_index)) FROM failed_events;"));
        Assert.Equal("100000/100", Single(hub.DataDirectory, "SELECT rejected || '/' || kept FROM quarantine_overflow;"));
    }

    [Fact]
    public async Task The_bound_per_request_is_configurable_and_a_request_within_it_is_kept_whole()
    {
        await using var hub = await TestHub.StartAsync(o => o with { Ingest = new IngestOptions { QuarantinePerRequest = 3 } });

        await hub.PostEventsAsync("[{},{},{},{},{}]");
        await hub.PostEventsAsync("[{},{}]");

        Assert.Equal("5", Single(hub.DataDirectory, "SELECT count(*) FROM failed_events;"));
        Assert.Equal("5/3", Single(hub.DataDirectory, "SELECT group_concat(rejected || '/' || kept) FROM quarantine_overflow;"));
    }

    [Fact]
    public async Task A_source_stores_at_most_its_hourly_budget_and_the_next_hour_starts_afresh()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero));
        var dataDir = Path.Combine(Path.GetTempPath(), "atalaya-quarantine-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var hub = Hub.Open(dataDir, new IngestOptions { QuarantinePerRequest = 10, QuarantinePerSourcePerHour = 25 }, clock))
            {
                var tenBad = Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("{}", 12)) + "]");
                for (var i = 0; i < 4; i++)
                {
                    await hub.Pipeline.IngestNativeAsync(tenBad, ndjson: false, "web");
                }
                // Another source has its own budget.
                await hub.Pipeline.IngestNativeAsync(tenBad, ndjson: false, "ios");
                clock.Advance(TimeSpan.FromHours(1));
                await hub.Pipeline.IngestNativeAsync(tenBad, ndjson: false, "web");
            }

            // web, hour 10: 10 + 10 + 5 + 0 of 4 × 12; ios: 10 of 12; web, hour 11: 10 of 12.
            Assert.Equal("ios:10,web:25,web:10", Single(dataDir,
                "SELECT group_concat(source_system || ':' || n) FROM (SELECT source_system, received_at / 3600000 AS h, count(*) AS n FROM failed_events GROUP BY 1, 2 ORDER BY 2, 1);"));
            Assert.Equal("72", Single(dataDir, "SELECT (SELECT count(*) FROM failed_events) + (SELECT sum(rejected - kept) FROM quarantine_overflow);"));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task The_quality_check_counts_rejections_past_the_bound()
    {
        await using var hub = await TestHub.StartAsync(o => o with { Ingest = new IngestOptions { QuarantinePerRequest = 2 } });
        Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(Events.Valid("page_view", "ok-1").ToJsonString())).StatusCode);
        await hub.PostEventsAsync("[{},{},{},{},{},{},{},{},{}]");

        var config = new Engine.Config.EnvironmentConfig { Environment = "dev" };
        var results = new Engine.Quality.QualityChecks(hub.Hub.Database, Engine.Catalog.EventCatalog.Default,
            config, Engine.JobCatalog.All(config), TimeProvider.System).Run();

        var all = results.Single(r => r.Check == "quarantine" && r.Subject == "all");
        Assert.Equal(90.0, all.Value);
    }

    private static string Single(string dataDir, string sql) => StoredEvents.Query(dataDir, sql).Single();
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
