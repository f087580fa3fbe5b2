using Atalaya.Engine;
using Atalaya.Engine.Jobs;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Jobs;

/// <summary>
/// The D+1 batch: marts equal the reference computation, a repeated run changes no byte, late
/// events are picked up by the next run, and runs are recorded as success, partial or failed.
/// </summary>
public sealed class DailyBatchTests : IAsyncLifetime
{
    private KpiHub _hub = null!;

    public async Task InitializeAsync() => _hub = await JobTestData.DemoHubAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private Engine.Storage.HubDatabase Database => _hub.Server.Hub.Database;

    private DateOnly FirstDay => DateOnly.FromDateTime(_hub.Reference.Events.Min(e => e.Timestamp).UtcDateTime);

    [Fact]
    public void Every_mart_row_equals_the_reference_computation_for_its_day_and_key()
    {
        var run = JobTestData.Run(_hub);

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.True(run.RecordsWritten > 0);
        MartReference.AssertAllMarts(Database, _hub.Reference, FirstDay, JobTestData.Yesterday);
        // Closed days only: nothing for today, whose figures are still moving.
        Assert.Equal(0, JobTestData.Count(Database, $"SELECT count(*) FROM daily_metrics WHERE date > '{JobTestData.Yesterday:yyyy-MM-dd}'"));
        Assert.Equal(5, JobTestData.Count(Database, $"SELECT count(*) FROM mart_state WHERE through_day = '{JobTestData.Yesterday:yyyy-MM-dd}'"));
    }

    [Fact]
    public void Running_the_same_day_twice_changes_no_byte_of_the_marts()
    {
        JobTestData.Run(_hub);
        var first = JobTestData.Dump(Database);

        var again = JobTestData.Run(_hub);

        Assert.Equal(RunStatus.Success, again.Status);
        Assert.Equal(0, again.RecordsWritten);
        Assert.Equal(first, JobTestData.Dump(Database));
    }

    [Fact]
    public async Task Late_events_for_a_closed_day_are_picked_up_by_the_next_run_and_only_nearby_days_are_rewritten()
    {
        var first = JobTestData.Run(_hub);
        var lateDay = JobTestData.Yesterday.AddDays(-3);
        var store = _hub.Reference.Events.First(e => e.Type == "store_created").Text("store_id")!;
        var at = EventBuilder.At(new DateTimeOffset(lateDay.ToDateTime(new TimeOnly(13, 30)), TimeSpan.Zero));
        var b = new EventBuilder("late");
        b.ProductView(at, "late-user", "late-session", store, "late-product", "Late product");
        b.Order(at, "late-order", store, "late-user", "late-session", items: [("late-product", 3, 40m)]);
        await _hub.PostAsync(b.Events);

        var second = JobTestData.Run(_hub);

        Assert.Equal(RunStatus.Success, second.Status);
        Assert.True(second.RecordsWritten > 0);
        MartReference.AssertAllMarts(Database, _hub.Reference, FirstDay, JobTestData.Yesterday);
        Assert.Equal(1, JobTestData.Count(Database, $"SELECT count(*) FROM product_metrics WHERE product_id = 'late-product' AND date = '{lateDay:yyyy-MM-dd}' AND units = 3"));
        // Rows before the look-back window were not touched: they still carry the first run's id.
        var untouchedBefore = lateDay.AddDays(-MartBatchLookBack);
        Assert.Equal(0, JobTestData.Count(Database,
            $"SELECT count(*) FROM daily_metrics WHERE date < '{untouchedBefore:yyyy-MM-dd}' AND run_id <> '{first.RunId}'"));
        Assert.True(JobTestData.Count(Database, $"SELECT count(*) FROM daily_metrics WHERE run_id = '{second.RunId}'") > 0);
    }

    [Fact]
    public void Kpi_refresh_brings_the_marts_up_to_date_and_saves_the_snapshot_when_serve_owns_it()
    {
        var snapshot = Engine.Hub.SnapshotPath(_hub.Server.DataDirectory);
        File.Delete(snapshot);
        var runner = new JobRunner(Database, _hub.Server.Hub.Kpis, JobTestData.Config)
        {
            SaveSnapshot = () => _hub.Server.Hub.Kpis.SaveSnapshot(snapshot),
        };

        var run = runner.Run("kpi_refresh", "test").Run!;

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Contains("\"step\":\"snapshot\",\"status\":\"success\"", run.Details);
        Assert.True(File.Exists(snapshot));
        MartReference.AssertAllMarts(Database, _hub.Reference, FirstDay, JobTestData.Yesterday);
    }

    private const int MartBatchLookBack = Engine.Jobs.Marts.MartBatch.LookBackDays;

    [Fact]
    public void A_failing_mart_makes_the_run_partial_keeps_its_watermark_and_the_next_run_completes_it()
    {
        JobTestData.Execute(Database, "CREATE TRIGGER break_products BEFORE INSERT ON product_metrics BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");

        var partial = JobTestData.Run(_hub);

        Assert.Equal(RunStatus.Partial, partial.Status);
        Assert.Matches("^product_metrics: .*disk says no", partial.ErrorMessage);
        Assert.Equal(0, JobTestData.Count(Database, "SELECT count(*) FROM product_metrics"));
        Assert.Equal(0, JobTestData.Count(Database, "SELECT count(*) FROM mart_state WHERE mart = 'product_metrics'"));
        Assert.True(JobTestData.Count(Database, "SELECT count(*) FROM daily_metrics") > 0);

        JobTestData.Execute(Database, "DROP TRIGGER break_products;");
        var next = JobTestData.Run(_hub);

        Assert.Equal(RunStatus.Success, next.Status);
        MartReference.AssertAllMarts(Database, _hub.Reference, FirstDay, JobTestData.Yesterday);
        var recorded = PipelineRuns.Query(Database, new RunFilter(Job: "daily_batch"));
        Assert.Equal([RunStatus.Success, RunStatus.Partial], recorded.Select(r => r.Status));
        Assert.Contains("\"step\":\"product_metrics\",\"status\":\"failed\"", recorded[1].Details);
    }

    [Fact]
    public void A_run_whose_every_mart_fails_is_recorded_failed_with_the_reasons()
    {
        foreach (var mart in Engine.Jobs.Marts.MartBuilder.Names)
        {
            JobTestData.Execute(Database, $"CREATE TRIGGER break_{mart} BEFORE INSERT ON {mart} BEGIN SELECT RAISE(ABORT, 'no space'); END;");
        }

        var run = JobTestData.Run(_hub);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(0, run.RecordsWritten);
        foreach (var mart in Engine.Jobs.Marts.MartBuilder.Names)
        {
            Assert.Matches($"(^|; ){mart}: [^;]*no space", run.ErrorMessage);
        }
        Assert.NotNull(run.EndTime);
        Assert.Equal(0, JobTestData.Count(Database, "SELECT count(*) FROM mart_state"));
    }
}
