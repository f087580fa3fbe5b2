using Atalaya.Engine;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The marts' behaviour, asserted the same way on both places they can live: the data folder's
/// SQLite database and a cluster's PostgreSQL. One demo hub's KPI engine computes; the runs go
/// through the job runner as the scheduler's do, recording runs and holding the marts lock where
/// the marts are. Rows are checked against the plain reference computation.
/// </summary>
public sealed class MartConformanceTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private KpiHub _hub = null!;
    private PostgresState? _state;
    private string _postgres = "";

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    public async Task InitializeAsync()
    {
        _hub = await JobTestData.DemoHubAsync(days: 10, seed: 7);
        _postgres = await server.NewDatabaseAsync();
        _state = PostgresState.Open(_postgres);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _state?.Dispose();
    }

    private Hub Hub => _hub.Server.Hub;

    private DateOnly FirstDay => DateOnly.FromDateTime(_hub.Reference.Events.Min(e => e.Timestamp).UtcDateTime);

    private MartStore Marts(string backend) => backend == "postgres" ? MartStore.Postgres(_state!) : MartStore.Sqlite(Hub.Database);

    private JobRunner Runner(string backend) => new(Hub.Database, Hub.Kpis, JobTestData.Config)
    {
        State = backend == "postgres" ? JobState.Shared(_state!) : JobState.Embedded(Hub.Database),
    };

    private PipelineRun Run(string backend, string job = "daily_batch")
    {
        var result = Runner(backend).Run(job, "test");
        Assert.Null(result.BusyWith);
        Assert.True(result.Run!.Status == RunStatus.Success, $"{job} on {backend}: {result.Run.Status}, {result.Run.ErrorMessage}");
        return result.Run;
    }

    private long Count(string backend, string sql) =>
        Marts(backend).Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        });

    private void Execute(string backend, string sql) =>
        Marts(backend).Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            return command.ExecuteNonQuery();
        });

    [Theory]
    [MemberData(nameof(Backends))]
    public void Every_mart_row_equals_the_reference_and_a_repeated_run_changes_no_row(string backend)
    {
        var run = Run(backend);

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.True(run.RecordsWritten > 0);
        MartReference.AssertAllMarts(Marts(backend), _hub.Reference, FirstDay, JobTestData.Yesterday);
        Assert.Equal(5, Count(backend, $"SELECT count(*) FROM mart_state WHERE through_day = '{JobTestData.Yesterday:yyyy-MM-dd}'"));
        Assert.Equal(0, Count(backend, $"SELECT count(*) FROM daily_metrics WHERE date > '{JobTestData.Yesterday:yyyy-MM-dd}'"));
        var first = JobTestData.Dump(Marts(backend));

        var again = Run(backend, "kpi_refresh");

        Assert.Equal(RunStatus.Success, again.Status);
        Assert.Equal(0, again.RecordsWritten);
        Assert.Equal(first, JobTestData.Dump(Marts(backend)));
    }

    [Fact]
    public void Both_backends_hold_the_same_rows_value_for_value()
    {
        Run("sqlite");
        Run("postgres");

        Assert.Equal(JobTestData.Dump(Marts("sqlite"), withRunId: false), JobTestData.Dump(Marts("postgres"), withRunId: false));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Late_events_are_merged_by_the_next_run_inserting_updating_and_keeping_untouched_rows(string backend)
    {
        var first = Run(backend);
        var lateDay = JobTestData.Yesterday.AddDays(-3);
        var store = _hub.Reference.Events.First(e => e.Type == "store_created").Text("store_id")!;
        var at = EventBuilder.At(new DateTimeOffset(lateDay.ToDateTime(new TimeOnly(13, 30)), TimeSpan.Zero));
        var b = new EventBuilder("late");
        b.ProductView(at, "late-user", "late-session", store, "late-product", "Late product");
        b.Order(at, "late-order", store, "late-user", "late-session", items: [("late-product", 3, 40m)]);
        await _hub.PostAsync(b.Events);

        var second = Run(backend);

        Assert.Equal(RunStatus.Success, second.Status);
        Assert.True(second.RecordsWritten > 0);
        MartReference.AssertAllMarts(Marts(backend), _hub.Reference, FirstDay, JobTestData.Yesterday);
        Assert.Equal(1, Count(backend, $"SELECT count(*) FROM product_metrics WHERE product_id = 'late-product' AND date = '{lateDay:yyyy-MM-dd}' AND units = 3"));
        // Rows before the look-back window and rows whose values did not change keep the first run's id.
        Assert.Equal(0, Count(backend,
            $"SELECT count(*) FROM daily_metrics WHERE date < '{lateDay.AddDays(-MartBatch.LookBackDays):yyyy-MM-dd}' AND run_id <> '{first.RunId}'"));
        Assert.True(Count(backend, $"SELECT count(*) FROM daily_metrics WHERE run_id = '{second.RunId}'") > 0);
        Assert.True(Count(backend, $"SELECT count(*) FROM daily_metrics WHERE date >= '{lateDay:yyyy-MM-dd}' AND run_id = '{first.RunId}'") > 0);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_backfill_after_the_marts_are_dropped_rebuilds_them_and_a_dry_run_changes_nothing(string backend)
    {
        Run(backend);
        var built = JobTestData.Dump(Marts(backend), withRunId: false);
        Execute(backend, "DELETE FROM customer_metrics; UPDATE fact_kpi_daily SET value = value + 1 WHERE metric = 'gmv';");
        var damaged = JobTestData.Dump(Marts(backend));

        var dry = Backfill(backend, apply: false);

        Assert.False(dry.Applied);
        Assert.Contains(dry.Diffs, d => d.Mart == "customer_metrics" && d.Added > 0);
        Assert.Contains(dry.Diffs, d => d.Mart == "fact_kpi_daily" && d.Metric == "gmv" && d.Changed > 0 && d.MaxAbsDelta == 1);
        Assert.Equal(damaged, JobTestData.Dump(Marts(backend)));

        var applied = Backfill(backend, apply: true);

        Assert.True(applied.Applied);
        Assert.Equal(built, JobTestData.Dump(Marts(backend), withRunId: false));
        MartReference.AssertAllMarts(Marts(backend), _hub.Reference, FirstDay, JobTestData.Yesterday);
        Assert.Empty(Backfill(backend, apply: true).Diffs);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_kpi_version_change_proposes_the_backfill_over_the_days_holding_the_old_version(string backend)
    {
        Run(backend);
        var day = JobTestData.Yesterday.AddDays(-3);
        Execute(backend, $"UPDATE fact_kpi_daily SET kpi_version = 0 WHERE metric = 'gmv' AND date <= '{day:yyyy-MM-dd}';");

        var proposal = Assert.Single(MartVersions.Proposals(Marts(backend), KpiDictionary.Default));

        Assert.Equal(("fact_kpi_daily", "gmv", 0, 1, day), (proposal.Mart, proposal.Metric, proposal.RecordedVersion, proposal.CurrentVersion, proposal.To));
    }

    [Fact]
    public async Task The_backfill_command_lists_the_proposals_of_the_clusters_marts_and_says_when_postgres_cannot_be_reached()
    {
        using var cli = new Support.TempDirectory("atalaya-marts-cli");
        Run("postgres");
        var (exit, stdout, stderr) = await Support.AtalayaProcess.RunAsync("backfill", "--proposals", "--postgres", _postgres, "--data", cli.Path);
        Assert.True(exit == 0, stderr);
        Assert.Contains("Every mart row was computed with the KPI versions in force", stdout, StringComparison.Ordinal);

        Execute("postgres", "UPDATE daily_metrics SET kpi_versions = replace(kpi_versions, 'gmv=1', 'gmv=0');");
        (exit, stdout, stderr) = await Support.AtalayaProcess.RunAsync("backfill", "--proposals", "--postgres", _postgres, "--data", cli.Path);
        Assert.True(exit == 0, stderr);
        Assert.Matches(@"daily_metrics\.gmv: rows from \d{4}-\d\d-\d\d to " + $"{JobTestData.Yesterday:yyyy-MM-dd}" + " hold version 0, now 1", stdout);

        var closed = new Npgsql.NpgsqlConnectionStringBuilder(_postgres) { Port = Support.ServeProcess.FreePort() }.ConnectionString;
        (exit, _, stderr) = await Support.AtalayaProcess.RunAsync("backfill", "--proposals", "--postgres", closed, "--data", cli.Path);
        Assert.Equal(2, exit);
        Assert.Contains("cannot be reached", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_postgres_away_a_mart_run_fails_saying_so_writes_nothing_and_the_next_run_after_it_returns_succeeds()
    {
        var marts = MartStore.Postgres(_state!);
        await server.PauseAsync();
        IReadOnlyList<StepOutcome> steps;
        try
        {
            steps = new MartBatch(marts, Hub.Kpis, new StoredEventPositions(Hub.Database, Hub.Kpis)).Run("run_while_away");
            Assert.Throws<StateUnavailableException>(() => MartVersions.Proposals(marts, KpiDictionary.Default));
        }
        finally
        {
            await server.ResumeAsync();
        }

        var failed = steps.Where(s => s.Step != "staging").ToList();
        Assert.Equal(MartBuilder.Names, failed.Select(s => s.Step));
        Assert.All(failed, s => Assert.False(s.Succeeded));
        Assert.All(failed, s => Assert.Contains("cannot be reached", s.Error, StringComparison.Ordinal));
        await Support.Wait.UntilAsync(() => Reachable(), "PostgreSQL answers again");
        Assert.Equal(0, Count("postgres", "SELECT count(*) FROM mart_state") + Count("postgres", "SELECT count(*) FROM daily_metrics"));

        var run = Run("postgres");

        Assert.Equal(RunStatus.Success, run.Status);
        MartReference.AssertAllMarts(marts, _hub.Reference, FirstDay, JobTestData.Yesterday);
    }

    private bool Reachable()
    {
        try
        {
            return Count("postgres", "SELECT 1") == 1;
        }
        catch (StateUnavailableException)
        {
            return false;
        }
    }

    private BackfillResult Backfill(string backend, bool apply)
    {
        // As the backfill command reads it: afresh from the raw blocks, no snapshot.
        var engine = new KpiEngine(KpiDictionary.Default);
        using (var connection = Hub.Database.Connect())
        {
            engine.Load(connection);
        }
        return new Backfill(Marts(backend), engine, new StoredEventPositions(Hub.Database, engine))
            .Run(FirstDay, JobTestData.Yesterday, DimensionFilter.None, apply, "run_backfill_" + backend);
    }
}
