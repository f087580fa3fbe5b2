using Atalaya.Engine.Catalog;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Jobs;

/// <summary>
/// Backfill: raw → staging → marts afresh equals the incrementally built marts; a dry run reports
/// per KPI and scope what would change and changes nothing; the swap is atomic; the CLI records
/// the run; a KPI version change proposes the backfill it needs.
/// </summary>
public sealed class BackfillTests : IAsyncLifetime
{
    private KpiHub _hub = null!;

    public async Task InitializeAsync() => _hub = await JobTestData.DemoHubAsync(days: 10, seed: 5);

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private Engine.Storage.HubDatabase Database => _hub.Server.Hub.Database;

    private DateOnly FirstDay => DateOnly.FromDateTime(_hub.Reference.Events.Min(e => e.Timestamp).UtcDateTime);

    /// <summary>The KPI engine as a backfill reads it: afresh from the raw blocks, no snapshot.</summary>
    private KpiEngine FromRaw()
    {
        var engine = new KpiEngine(KpiDictionary.Default);
        using var connection = Database.Connect();
        engine.Load(connection);
        return engine;
    }

    private BackfillResult Backfill(bool apply, DimensionFilter? filter = null, DateOnly? from = null) =>
        new Backfill(MartStore.Sqlite(Database), FromRaw(), new StoredEventPositions(Database, _hub.Server.Hub.Kpis)).Run(from ?? FirstDay, JobTestData.Yesterday, filter ?? DimensionFilter.None, apply, "run_backfill_test");

    [Fact]
    public async Task Dropping_the_marts_and_backfilling_gives_the_incrementally_built_marts()
    {
        JobTestData.Run(_hub);
        var b = new EventBuilder("late");
        var store = _hub.Reference.Events.First(e => e.Type == "store_created").Text("store_id")!;
        b.Order(EventBuilder.At(DateTimeOffset.UtcNow.AddDays(-4)), "late-1", store, "late-user", items: [("p-late", 1, 99m)]);
        await _hub.PostAsync(b.Events);
        JobTestData.Run(_hub);
        var incremental = JobTestData.Dump(Database, withRunId: false);
        foreach (var mart in MartBuilder.Names)
        {
            JobTestData.Execute(Database, $"DELETE FROM {mart};");
        }

        var result = Backfill(apply: true);

        Assert.True(result.Applied);
        Assert.Equal(incremental, JobTestData.Dump(Database, withRunId: false));
        Assert.Equal(0, JobTestData.Count(Database, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'shadow_%'"));
        MartReference.AssertAllMarts(Database, _hub.Reference, FirstDay, JobTestData.Yesterday);
    }

    [Fact]
    public void A_dry_run_over_days_before_the_first_event_reports_nothing_to_change()
    {
        JobTestData.Run(_hub);

        // A newcomer's first try (docs: a whole month) starts before the data: the days without any
        // event are in no mart, built either way, so there is nothing to add or remove.
        var result = Backfill(apply: false, from: FirstDay.AddDays(-9));

        Assert.Empty(result.Diffs);
    }

    [Fact]
    public void A_dry_run_reports_each_changed_kpi_and_scope_and_changes_nothing_then_apply_swaps_the_rows_in()
    {
        JobTestData.Run(_hub);
        var day = JobTestData.Yesterday.AddDays(-2);
        var store = (string)JobTestData.Scalar(Database, $"SELECT store_id FROM daily_metrics WHERE date = '{day:yyyy-MM-dd}' AND store_id <> '' AND gmv > 0 ORDER BY store_id LIMIT 1")!;
        JobTestData.Execute(Database, $"UPDATE daily_metrics SET gmv = gmv + 1000 WHERE date = '{day:yyyy-MM-dd}' AND store_id = '{store}';");
        JobTestData.Execute(Database, $"DELETE FROM product_metrics WHERE date = '{day:yyyy-MM-dd}' AND store_id = '{store}';");
        var tampered = JobTestData.Dump(Database);

        var dry = Backfill(apply: false);

        Assert.False(dry.Applied);
        Assert.Equal(tampered, JobTestData.Dump(Database));
        var gmv = Assert.Single(dry.Diffs, d => d.Mart == "daily_metrics" && d.Metric == "gmv");
        Assert.Equal($"store_id={store}", gmv.Scope);
        Assert.Equal(1, gmv.Changed);
        Assert.Equal(1000, gmv.MaxAbsDelta, 6);
        Assert.Equal(-1000, gmv.NewSum - gmv.OldSum, 6);
        Assert.Contains(dry.Diffs, d => d.Mart == "product_metrics" && d.Scope == $"store_id={store}" && d.Added > 0);
        Assert.DoesNotContain(dry.Diffs, d => d.Mart is "traffic_metrics" or "fact_kpi_daily" or "customer_metrics");
        // The shadow tables stay for inspection and hold the recomputed figures.
        Assert.True(JobTestData.Count(Database, "SELECT count(*) FROM shadow_daily_metrics") > 0);

        var applied = Backfill(apply: true);

        Assert.True(applied.Applied);
        MartReference.AssertAllMarts(Database, _hub.Reference, FirstDay, JobTestData.Yesterday);
        // Rows the backfill did not change keep the run that wrote them.
        Assert.Equal(1, JobTestData.Count(Database, "SELECT count(*) FROM daily_metrics WHERE run_id = 'run_backfill_test'"));
    }

    [Fact]
    public void The_swap_is_atomic_a_failure_in_one_mart_leaves_every_mart_as_it_was()
    {
        JobTestData.Run(_hub);
        var day = JobTestData.Yesterday.AddDays(-1);
        JobTestData.Execute(Database, $"UPDATE daily_metrics SET orders = orders + 7 WHERE date = '{day:yyyy-MM-dd}';");
        JobTestData.Execute(Database, $"UPDATE fact_kpi_daily SET value = value + 7 WHERE date = '{day:yyyy-MM-dd}' AND metric = 'orders';");
        JobTestData.Execute(Database, "CREATE TRIGGER break_facts BEFORE UPDATE ON fact_kpi_daily BEGIN SELECT RAISE(ABORT, 'interrupted'); END;");
        var tampered = JobTestData.Dump(Database);

        var error = Assert.ThrowsAny<Microsoft.Data.Sqlite.SqliteException>(() => Backfill(apply: true));

        Assert.Contains("interrupted", error.Message);
        // daily_metrics comes before fact_kpi_daily in the swap: it was rolled back with it.
        Assert.Equal(tampered, JobTestData.Dump(Database));

        JobTestData.Execute(Database, "DROP TRIGGER break_facts;");
        Backfill(apply: true);
        MartReference.AssertAllMarts(Database, _hub.Reference, FirstDay, JobTestData.Yesterday);
    }

    [Fact]
    public void A_store_filter_rebuilds_only_that_stores_rows_of_the_store_marts()
    {
        JobTestData.Run(_hub);
        JobTestData.Execute(Database, "UPDATE daily_metrics SET pageviews = pageviews + 1 WHERE store_id <> '';");
        var store = (string)JobTestData.Scalar(Database, "SELECT store_id FROM daily_metrics WHERE store_id <> '' ORDER BY store_id LIMIT 1")!;

        var result = Backfill(apply: true, new DimensionFilter(new Dictionary<Dimension, IReadOnlyList<string>> { [Dimension.StoreId] = [store] }));

        Assert.Equal(["daily_metrics", "product_metrics", "customer_metrics"], result.Marts);
        Assert.All(result.Diffs, d => Assert.Equal($"store_id={store}", d.Scope));
        // Every row of that store was tampered with, so every one was rewritten; no other store's row was.
        Assert.Equal(0, JobTestData.Count(Database, $"SELECT count(*) FROM daily_metrics WHERE store_id = '{store}' AND run_id <> 'run_backfill_test'"));
        var others = JobTestData.Count(Database, $"SELECT count(*) FROM daily_metrics WHERE store_id <> '' AND store_id <> '{store}' AND run_id = 'run_backfill_test'");
        Assert.Equal(0, others);
        Assert.True(JobTestData.Count(Database, $"SELECT count(*) FROM daily_metrics WHERE store_id = '{store}' AND run_id = 'run_backfill_test'") > 0);
    }

    [Fact]
    public void A_kpi_version_change_proposes_the_backfill_over_the_days_holding_the_old_version()
    {
        JobTestData.Run(_hub);
        var day = JobTestData.Yesterday.AddDays(-3);
        JobTestData.Execute(Database, $"UPDATE fact_kpi_daily SET kpi_version = 0 WHERE metric = 'gmv' AND date <= '{day:yyyy-MM-dd}';");

        var proposal = Assert.Single(MartVersions.Proposals(MartStore.Sqlite(Database), KpiDictionary.Default));

        Assert.Equal(("fact_kpi_daily", "gmv", 0, 1), (proposal.Mart, proposal.Metric, proposal.RecordedVersion, proposal.CurrentVersion));
        Assert.Equal(day, proposal.To);
        Assert.Equal($"atalaya backfill --start {proposal.From:yyyy-MM-dd} --end {day:yyyy-MM-dd} --dry-run", proposal.Command);
    }

    [Fact]
    public async Task The_cli_backfill_dry_run_prints_the_diff_records_the_run_and_refuses_bad_ranges()
    {
        JobTestData.Run(_hub);
        var day = JobTestData.Yesterday.AddDays(-1);
        JobTestData.Execute(Database, $"UPDATE daily_metrics SET visitors = visitors + 5 WHERE date = '{day:yyyy-MM-dd}' AND store_id = '';");

        var (code, stdout, stderr) = await AtalayaProcess.RunAsync("backfill", "--start", $"{FirstDay:yyyy-MM-dd}", "--end", $"{JobTestData.Yesterday:yyyy-MM-dd}",
            "--dry-run", "--data", _hub.Server.DataDirectory);

        Assert.True(code == 0, stdout + stderr);
        Assert.Matches(@"daily_metrics\s+visitors\s+store_id=\(none\)\s+0\s+0\s+\d+\s+5", stdout);
        Assert.Contains("added: rows the recomputation has and the mart lacks", stdout);
        Assert.Contains("Dry run: nothing changed", stdout);
        var run = PipelineRuns.Query(Database, new RunFilter(Job: "backfill")).Single();
        Assert.Equal((RunStatus.Success, "cli dry-run"), (run.Status, run.Trigger));

        var today = await AtalayaProcess.RunAsync("backfill", "--start", $"{FirstDay:yyyy-MM-dd}", "--end", $"{DateTime.UtcNow:yyyy-MM-dd}", "--data", _hub.Server.DataDirectory);
        Assert.Equal(2, today.ExitCode);
        Assert.Contains("is not a closed day", today.Stderr);
        var both = await AtalayaProcess.RunAsync("backfill", "--start", "2026-01-01", "--end", "2026-01-02", "--store", "a", "--app", "b", "--data", _hub.Server.DataDirectory);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("no mart has both", both.Stderr);
    }

    [Fact]
    public async Task The_api_backfill_rebuilds_a_stores_damaged_rows_records_the_run_and_is_admin_only()
    {
        JobTestData.Run(_hub);
        var built = JobTestData.Dump(Database, withRunId: false);
        var day = JobTestData.Yesterday.AddDays(-2);
        var store = (string)JobTestData.Scalar(Database,
            $"SELECT store_id FROM product_metrics WHERE date = '{day:yyyy-MM-dd}' AND store_id != '' GROUP BY store_id ORDER BY count(*) DESC, store_id LIMIT 1;")!;
        JobTestData.Execute(Database, $"UPDATE daily_metrics SET orders = orders + 7 WHERE date = '{day:yyyy-MM-dd}' AND store_id = '{store}';");
        JobTestData.Execute(Database, $"DELETE FROM product_metrics WHERE date = '{day:yyyy-MM-dd}' AND store_id = '{store}';");
        Assert.NotEqual(built, JobTestData.Dump(Database, withRunId: false));
        var path = $"/api/jobs/backfill/run?start_date={FirstDay:yyyy-MM-dd}&end_date={JobTestData.Yesterday:yyyy-MM-dd}&store={store}";

        var analyst = _hub.Server.CreateToken(Engine.Access.Role.Analyst);
        var (forbidden, _) = await Access.AccessHttp.SendAsync(_hub.Server.Client, HttpMethod.Post, path, analyst);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, forbidden);
        var (bad, badBody) = await Access.AccessHttp.SendAsync(_hub.Server.Client, HttpMethod.Post, path + "&dry_run=yes", _hub.AdminToken);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad);
        Assert.Contains("dry_run: 'yes' is not true or false", Access.AccessHttp.Error(badBody), StringComparison.Ordinal);

        // A dry run changes nothing and says what would change in its run's details.
        var damaged = JobTestData.Dump(Database, withRunId: false);
        var dry = await BackfillOverHttpAsync(path + "&dry_run=true");
        Assert.Equal((RunStatus.Success, "manual dry-run", 0L), (dry.Status, dry.Trigger, dry.RecordsWritten));
        Assert.Equal(damaged, JobTestData.Dump(Database, withRunId: false));
        var changes = System.Text.Json.JsonDocument.Parse(dry.Details).RootElement.GetProperty("steps").EnumerateArray()
            .Single(s => s.GetProperty("step").GetString() == "changes").GetProperty("note").GetString();
        Assert.Contains($"daily_metrics.orders store_id={store} (+0 −0 ~1, max |Δ| 7)", changes, StringComparison.Ordinal);
        Assert.Contains("product_metrics.", changes, StringComparison.Ordinal);

        var run = await BackfillOverHttpAsync(path);
        Assert.Equal((RunStatus.Success, "manual"), (run.Status, run.Trigger));
        Assert.True(run.RecordsWritten > 0);
        Assert.Equal(built, JobTestData.Dump(Database, withRunId: false));
        // Only that store's rows were rewritten.
        Assert.Equal(0, JobTestData.Count(Database, $"SELECT count(*) FROM daily_metrics WHERE run_id = '{run.RunId}' AND store_id != '{store}'"));
        Assert.True(JobTestData.Count(Database, $"SELECT count(*) FROM product_metrics WHERE run_id = '{run.RunId}'") > 0);
    }

    /// <summary>POSTs a backfill and waits for its run to end.</summary>
    private async Task<PipelineRun> BackfillOverHttpAsync(string path)
    {
        var (status, body) = await Access.AccessHttp.SendAsync(_hub.Server.Client, HttpMethod.Post, path, _hub.AdminToken);
        Assert.True(status == System.Net.HttpStatusCode.Accepted, body);
        var runId = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("run_id").GetString();
        PipelineRun? run = null;
        await Wait.UntilAsync(() => (run = PipelineRuns.Query(Database, new RunFilter(Job: "backfill")).SingleOrDefault(r => r.RunId == runId)) is { Status: not RunStatus.Running },
            "the backfill ends");
        return run!;
    }
}
