using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Jobs;

/// <summary>The scheduler in <c>serve</c>: runs missed while the hub was down are caught up at start, and one run covers every missed day.</summary>
public sealed class SchedulerTests
{
    [Fact]
    public async Task Runs_missed_during_an_outage_are_caught_up_at_start_covering_every_missed_day()
    {
        var directory = Path.Combine(Path.GetTempPath(), "atalaya-sched-" + Guid.NewGuid().ToString("N"));
        DateOnly first;
        await using (var hub = Hub.Open(directory))
        {
            using var ndjson = new MemoryStream();
            DemoGenerator.WriteNdjson(new DemoOptions(Days: 8, Seed: 9, SessionsPerDay: 200), ndjson);
            ndjson.Position = 0;
            await Engine.Collect.NdjsonImporter.ImportAsync(hub.Pipeline, ndjson, "demo");
            // The hub ran its batch four days ago, then was down: the marts stop four days back
            // and the last daily_batch and kpi_refresh runs are old.
            new JobRunner(hub.Database, hub.Kpis, JobTestData.Config).Run("daily_batch", "schedule");
            var stoppedAt = JobTestData.Yesterday.AddDays(-4);
            foreach (var mart in MartBuilder.Names)
            {
                JobTestData.Execute(hub.Database, $"DELETE FROM {mart} WHERE date > '{stoppedAt:yyyy-MM-dd}';");
            }
            JobTestData.Execute(hub.Database, $"UPDATE mart_state SET through_day = '{stoppedAt:yyyy-MM-dd}';");
            var old = PipelineRuns.Iso(DateTimeOffset.UtcNow.AddDays(-4));
            JobTestData.Execute(hub.Database, $"UPDATE pipeline_runs SET start_time = '{old}', end_time = '{old}';");
            PipelineRuns.Start(hub.Database, new PipelineRun("run_recent_refresh", "kpi_refresh", "all", DateTimeOffset.UtcNow, null, RunStatus.Running, 0, null, "schedule", "{}"));
            PipelineRuns.Finish(hub.Database, "run_recent_refresh", DateTimeOffset.UtcNow, RunStatus.Success, 0, null, "{}");
            first = MartBatch.FirstDayOfEvents(hub.Database.Connect())!.Value;
        }

        await using var server = await TestHub.StartAsync(o => o with { RunScheduler = true }, directory);

        PipelineRun? caughtUp = null;
        for (var i = 0; i < 600 && caughtUp is null; i++)
        {
            caughtUp = PipelineRuns.Query(server.Hub.Database, new RunFilter(Job: "daily_batch"))
                .FirstOrDefault(r => r.Trigger == "catch-up" && r.Status != RunStatus.Running);
            await Task.Delay(100);
        }
        Assert.NotNull(caughtUp);
        Assert.Equal(RunStatus.Success, caughtUp.Status);
        Assert.Contains($"\"from\":\"{JobTestData.Yesterday.AddDays(-3):yyyy-MM-dd}\"", caughtUp.Details);
        // kpi_refresh ran recently: not missed, not run again.
        Assert.DoesNotContain(PipelineRuns.Query(server.Hub.Database, new RunFilter(Job: "kpi_refresh")), r => r.Trigger == "catch-up");
        Assert.Equal(5, JobTestData.Count(server.Hub.Database, $"SELECT count(*) FROM mart_state WHERE through_day = '{JobTestData.Yesterday:yyyy-MM-dd}'"));
        var reference = ReferenceData.FromStored(StoredEvents.All(directory));
        MartReference.AssertAllMarts(server.Hub.Database, reference, first, JobTestData.Yesterday);
    }

    [Fact]
    public void A_job_is_missed_when_a_scheduled_time_passed_since_its_last_start_or_it_never_ran()
    {
        var directory = Path.Combine(Path.GetTempPath(), "atalaya-sched-" + Guid.NewGuid().ToString("N"));
        var database = Engine.Storage.HubDatabase.Open(directory);
        var daily = EnvironmentConfig.ParseCron("15 0 * * *")!;
        var now = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

        Assert.True(Hosting.Missed(database, "daily_batch", daily, now));
        PipelineRuns.Start(database, new PipelineRun("run_a", "daily_batch", "all", new DateTimeOffset(2026, 11, 27, 0, 15, 2, TimeSpan.Zero), null, RunStatus.Success, 0, null, "schedule", "{}"));
        Assert.False(Hosting.Missed(database, "daily_batch", daily, now));
        Assert.True(Hosting.Missed(database, "daily_batch", daily, now.AddDays(1)));
    }

    private static class Hosting
    {
        public static bool Missed(Engine.Storage.HubDatabase database, string job, NCrontab.CrontabSchedule cron, DateTimeOffset now) =>
            Atalaya.Jobs.JobScheduler.Missed(Engine.Jobs.JobState.Embedded(database).Runs, job, cron, now);
    }
}
