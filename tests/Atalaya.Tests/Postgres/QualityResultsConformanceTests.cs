using System.Data.Common;
using Atalaya.Engine;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Quality;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The data-quality findings and the checks that read runs, asserted the same way on both places
/// they can live: the data folder's SQLite database and a cluster's PostgreSQL. Two stores on one
/// backing play the node that ran the checks and another node reading them.
/// </summary>
public sealed class QualityResultsConformanceTests(PostgresServer server) : BackendConformance(server, "atalaya-quality-rows")
{
    private static readonly DateTimeOffset Checked = new(2026, 11, 20, 6, 30, 0, 123, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_runs_findings_are_read_back_by_another_store_field_for_field_worst_first_and_the_newest_run_is_the_latest(string backend)
    {
        Assert.Null(Rows(backend).LatestRun());
        var findings = Findings();
        Rows(backend).Save("run_b", Checked, findings);

        var reader = Rows(backend);
        Assert.Equal("run_b", reader.LatestRun());
        var read = reader.Read("run_b");
        // The reference order: worst status first, then the checks in their listed order, then subject byte by byte.
        var expected = findings.Select(f => f with { RunId = "run_b", CheckedAt = Checked })
            .OrderByDescending(f => f.Status).ThenBy(f => QualityResults.Checks.ToList().IndexOf(f.Check)).ThenBy(f => f.Subject, StringComparer.Ordinal).ToList();
        Assert.Equal(expected, read);
        Assert.Empty(reader.Read("run_unknown"));

        // A later run is the latest; at the same instant, the larger run id.
        Rows(backend).Save("run_a", Checked.AddMinutes(5), [findings[0]]);
        Assert.Equal("run_a", reader.LatestRun());
        Rows(backend).Save("run_c", Checked.AddMinutes(5), [findings[1]]);
        Assert.Equal("run_c", reader.LatestRun());
        Assert.Equal(findings.Count, reader.Read("run_b").Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_run_is_saved_whole_or_not_at_all(string backend)
    {
        var finding = Findings()[0];
        Assert.ThrowsAny<DbException>(() => Rows(backend).Save("run_twice", Checked, [finding, finding with { Message = "again" }]));
        Assert.Empty(Rows(backend).Read("run_twice"));
        Assert.Null(Rows(backend).LatestRun());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void The_pipeline_check_judges_the_runs_where_the_hub_records_them(string backend)
    {
        var clock = new HeldClock();
        var jobs = State(backend);
        var runner = new JobRunner(Database(), new KpiEngine(KpiDictionary.Default, clock), JobTestData.Config, clock) { State = jobs };
        var failing = new JobDefinition("daily_batch", "test", "jobs.daily_batch_schedule", JobCatalog.MartsLock,
            _ => [new StepOutcome("daily_metrics", false, 0, null, null, "disk full")]);
        var run = runner.Execute(runner.TryBegin(failing, "schedule", "all", out _)!);
        Assert.Equal(RunStatus.Failed, run.Status);

        var checks = new QualityChecks(Database(), EventCatalog.Default, JobTestData.Config, JobCatalog.All(JobTestData.Config), clock) { Runs = State(backend).Runs };
        var pipeline = checks.Run().Where(r => r.Check == "pipeline").ToDictionary(r => r.Subject);
        Assert.Equal(QualityStatus.Fail, pipeline["daily_batch"].Status);
        Assert.Contains(run.RunId, pipeline["daily_batch"].Message, StringComparison.Ordinal);
        Assert.Equal(QualityStatus.Skipped, pipeline["kpi_refresh"].Status);
        // On PostgreSQL the data folder holds no run: the finding came from the shared runs.
        Assert.Equal(backend == "sqlite" ? 1 : 0, PipelineRuns.Query(Database(), new RunFilter()).Count);
    }

    /// <summary>Findings of several checks and statuses, with and without values, countries and times.</summary>
    private static List<QualityResult> Findings() =>
    [
        new("freshness", "web", QualityStatus.Ok, 0.25, 2, 6, "hours", "Last event from source 'web' received 15 min ago."),
        new("freshness", "MX", QualityStatus.Fail, 9.5, 2, 6, "hours", "No event from MX for 9.5 h.") { Country = "MX", Since = Checked.AddHours(-9.5) },
        new("volume", "page_view", QualityStatus.Warn, -41.2, 30, 60, "%", "41 % below the mean."),
        new("pipeline", "kpi_refresh", QualityStatus.Skipped, null, null, null, "", "kpi_refresh has not run yet."),
        new("null_rate", "purchase_completed.order_id", QualityStatus.Fail, 12.5, 1, 5, "%", "12.5 % missing."),
        new("null_rate", "purchase_completed.amount", QualityStatus.Fail, 7, 1, 5, "%", "7 % missing."),
        new("schema_drift", "page_view.référent", QualityStatus.Warn, 3, 1, null, "events", "A field outside the catalog."),
    ];

    private IQualityRows Rows(string backend)
    {
        if (backend == "sqlite")
        {
            return QualityRows.For(Database(), null);
        }
        var state = OpenState();
        return QualityRows.Shared(state);
    }

    private JobState State(string backend)
    {
        if (backend == "sqlite")
        {
            return JobState.Embedded(Database());
        }
        var state = OpenState();
        return JobState.Shared(state);
    }

    private HubDatabase Database() => HubDatabase.Open(Folder.Path);
}
