using System.Net;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Jobs;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Jobs;

/// <summary>
/// Retention: off by default; when on it drops only raw blocks wholly older than the horizon month,
/// only once the marts are final for them, keeps the marts and the dropped event ids (a retry is
/// still a duplicate, also after a restart), and records what it dropped.
/// </summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private KpiHub _hub = null!;

    /// <summary>
    /// The retention job's clock, pinned to the 20th of last month: with the real date, from the 1st to
    /// about the 9th of a month every demo block lay past the horizon, all were dropped, and nothing
    /// was left to prove that the rest of the raw store stays append-only.
    /// </summary>
    private static readonly DateTimeOffset Now = new(new DateTime(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 20, 12, 0, 0, DateTimeKind.Utc).AddMonths(-1), TimeSpan.Zero);

    // 25 days ending 40 days before the pinned clock: about two weeks before the horizon (the first
    // of the month before the clock's) and ten days after it, so some blocks drop and some stay.
    public async Task InitializeAsync() => _hub = await KpiHub.StartWithDemoAsync(
        new DemoOptions(Days: 25, Seed: 4, EndDate: DateOnly.FromDateTime(Now.UtcDateTime).AddDays(-40), SessionsPerDay: 150));

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private Engine.Storage.HubDatabase Database => _hub.Server.Hub.Database;

    private static EnvironmentConfig Retaining(bool enabled) => new() { Environment = "dev", Retention = { Enabled = enabled, RawEventsMonths = 1 } };

    private PipelineRun Retention(bool enabled) =>
        new JobRunner(Database, _hub.Server.Hub.Kpis, Retaining(enabled), new PinnedClock(Now)).Run("retention", "test").Run!;

    private static long HorizonMs => new DateTimeOffset(Now.Year, Now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(-1).ToUnixTimeMilliseconds();

    private sealed class PinnedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public async Task Old_months_are_dropped_only_after_their_marts_are_final_and_their_ids_still_dedupe()
    {
        var blocks = JobTestData.Count(Database, "SELECT count(*) FROM event_blocks");
        var off = Retention(enabled: false);
        Assert.Equal((RunStatus.Success, 0L), (off.Status, off.RecordsWritten));
        Assert.Contains("retention.enabled is false", off.Details);

        var early = Retention(enabled: true);
        Assert.Equal(RunStatus.Failed, early.Status);
        Assert.Contains("marts not final", early.ErrorMessage);
        Assert.Equal(blocks, JobTestData.Count(Database, "SELECT count(*) FROM event_blocks"));

        JobTestData.Run(_hub);
        var marts = JobTestData.Dump(Database);
        var oldest = (string)JobTestData.Scalar(Database, "SELECT event FROM raw_events ORDER BY timestamp LIMIT 1")!;
        var expectedDropped = JobTestData.Count(Database, $"SELECT coalesce(sum(event_count), 0) FROM event_blocks WHERE max_timestamp < {HorizonMs}");
        Assert.True(expectedDropped > 0, "the test data must reach past the horizon");
        var expectedKept = JobTestData.Count(Database, $"SELECT count(*) FROM event_blocks WHERE max_timestamp >= {HorizonMs}");
        Assert.True(expectedKept > 0, "some blocks must stay inside the horizon, or the append-only check below proves nothing");

        // Blocks the data-quality profile has not counted wait for it: its counters must never miss events.
        var unprofiled = Retention(enabled: true);
        Assert.Equal((RunStatus.Success, 0L), (unprofiled.Status, unprofiled.RecordsWritten));
        Assert.Contains("wait for the data-quality profile", unprofiled.Details);
        JobTestData.Run(_hub, "dq_health");
        var profiled = JobTestData.Count(Database, "SELECT coalesce(sum(count), 0) FROM dq_profile WHERE measure = 'events'");

        var run = Retention(enabled: true);

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Equal(profiled, JobTestData.Count(Database, "SELECT coalesce(sum(count), 0) FROM dq_profile WHERE measure = 'events'"));
        Assert.Equal(expectedDropped, run.RecordsWritten);
        Assert.Equal(0, JobTestData.Count(Database, $"SELECT count(*) FROM event_blocks WHERE max_timestamp < {HorizonMs}"));
        Assert.Equal(expectedKept, JobTestData.Count(Database, "SELECT count(*) FROM event_blocks"));
        Assert.Equal(expectedDropped, JobTestData.Count(Database, $"SELECT sum(event_count) FROM retired_blocks WHERE run_id = '{run.RunId}' AND max_timestamp < {HorizonMs}"));
        Assert.Contains("dropped", run.Details);
        Assert.Equal(marts, JobTestData.Dump(Database));
        // Raw stays append-only for everyone else.
        Assert.ThrowsAny<Microsoft.Data.Sqlite.SqliteException>(() => JobTestData.Execute(Database, "DELETE FROM event_blocks;"));

        await AssertDuplicate(oldest);
        await _hub.RestartAsync();
        await AssertDuplicate(oldest);
    }

    private async Task AssertDuplicate(string storedEvent)
    {
        using var stored = JsonDocument.Parse(storedEvent);
        var resend = new Dictionary<string, object?>
        {
            ["event_id"] = stored.RootElement.GetProperty("event_id").GetString(),
            ["event_type"] = "page_view",
            ["timestamp"] = stored.RootElement.GetProperty("timestamp").GetString(),
            ["anonymous_id"] = "retry",
            ["context"] = new Dictionary<string, object?> { ["page_url"] = "https://shop.example/" },
        };
        using var response = await _hub.Server.PostEventsAsync(JsonSerializer.Serialize(resend), "application/json");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal(1, JsonDocument.Parse(body).RootElement.GetProperty("duplicates").GetInt32());
    }
}
