using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Reports;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Reports;

/// <summary>
/// The scheduled report jobs in a real <c>serve</c> (the scheduler's catch-up at start): each run is
/// recorded, writes the platform's and every recipient's report once, delivers to the recipients'
/// outboxes, and a rerun after a restart replaces the same files instead of adding any. Old reports
/// go after <c>reports.retention_days</c>.
/// </summary>
public sealed class ReportJobTests
{
    private const string Recipients = """
        environment: dev
        reports:
          locale: es-CL
          retention_days: 30
          recipients:
            - {name: tienda-mx-003, store: mx-003, locale: es-MX, reports: [daily, weekly]}
            - {name: lead-se, country: SE, locale: sv-SE}
        """;

    private static readonly string[] Jobs = ["report_daily", "report_weekly", "report_monthly"];

    [Fact]
    public async Task The_scheduled_runs_write_exactly_one_report_per_period_and_scope_even_across_a_restart()
    {
        var config = EnvironmentFiles.Parse(Recipients, "reports-test.yaml", "dev");
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 20, Seed: 3, SessionsPerDay: 60),
            o => o with { RunScheduler = true, Config = config });
        var database = hub.Server.Hub.Database;
        var first = await CaughtUpAsync(hub, runsPerJob: 1);

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var day = ReportFixture.Day(today.AddDays(-1));
        var month = ReportPeriod.For(ReportKind.Monthly, ReportPeriod.DefaultDate(ReportKind.Monthly, today)).Key;
        string[] expected =
        [
            $"daily-{day}", $"daily-{day}-store-mx-003", $"daily-{day}-country-SE",
            $"weekly-{day}-es-CL", $"weekly-{day}-store-mx-003-es-MX", $"weekly-{day}-country-SE-sv-SE",
            $"monthly-{month}-es-CL", $"monthly-{month}-country-SE-sv-SE",
        ];
        var store = new ReportStore(database);
        var folder = Path.Combine(database.DataDirectory, ReportStore.Folder);
        var stored = store.List();
        Assert.Equal(expected.Order(StringComparer.Ordinal), stored.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal(expected.Length, stored.Select(r => (r.Kind, r.PeriodStart, r.Scope, r.Locale)).Distinct().Count());
        Assert.Equal(stored.Select(r => r.FileName).Order(StringComparer.Ordinal), ReportFiles(folder));
        foreach (var run in first)
        {
            Assert.Equal(RunStatus.Success, run.Status);
            Assert.Equal(stored.Count(r => r.RunId == run.RunId), run.RecordsWritten);
        }
        Assert.True(File.Exists(Path.Combine(folder, "outbox", "tienda-mx-003", $"weekly-{day}-store-mx-003-es-MX.html")));
        Assert.True(File.Exists(Path.Combine(folder, "outbox", "lead-se", $"daily-{day}-country-SE.csv.summary.txt")));
        Assert.False(Directory.Exists(Path.Combine(folder, "outbox", "tienda-mx-003", "monthly")));

        // The hub stops; its report runs look 40 days old (a scheduled time of each passed since), so the next start catches them up again.
        await hub.Server.RestartAsync(() => JobTestData.Execute(database,
            $"UPDATE pipeline_runs SET start_time = '{PipelineRuns.Iso(DateTimeOffset.UtcNow.AddDays(-40))}' WHERE job LIKE 'report_%';"));
        var second = await CaughtUpAsync(hub, runsPerJob: 2);

        var again = new ReportStore(hub.Server.Hub.Database).List();
        Assert.Equal(expected.Order(StringComparer.Ordinal), again.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal(again.Select(r => r.FileName).Order(StringComparer.Ordinal), ReportFiles(folder));
        Assert.All(again, r => Assert.Contains(r.RunId, second.Select(s => s.RunId)));
        Assert.All(again, r => Assert.True(r.CreatedAt > stored.Single(s => s.Id == r.Id).CreatedAt, $"{r.Id} was not rewritten"));
        // The CSV has no timestamp: the same data gives the same bytes.
        Assert.All(again.Where(r => r.Kind == ReportKind.Daily), r => Assert.Equal(stored.Single(s => s.Id == r.Id).Sha256, r.Sha256));
    }

    [Fact]
    public async Task A_run_deletes_the_reports_older_than_the_retention_and_keeps_the_others()
    {
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 10, Seed: 4, SessionsPerDay: 40));
        var config = EnvironmentFiles.Parse(Recipients, "reports-test.yaml", "dev");
        var engine = hub.Server.Hub.Kpis;
        var store = new ReportStore(hub.Server.Hub.Database);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var builder = new ReportBuilder(engine);
        var old = store.Save(builder.Build(new ReportRequest(ReportKind.Daily, today.AddDays(-45), ReportScope.All), DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, null);
        var recent = store.Save(builder.Build(new ReportRequest(ReportKind.Daily, today.AddDays(-20), ReportScope.All), DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, null);

        var run = new JobRunner(hub.Server.Hub.Database, engine, config).Run("report_daily", "test").Run!;

        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Contains("\"step\":\"retention\",\"status\":\"success\",\"records_written\":1", run.Details, StringComparison.Ordinal);
        var ids = store.List().Select(r => r.Id).ToList();
        Assert.DoesNotContain(old.Id, ids);
        Assert.Contains(recent.Id, ids);
        Assert.False(File.Exists(ReportStore.FileIn(hub.Server.Hub.Database, old.FileName)));
        Assert.True(File.Exists(ReportStore.FileIn(hub.Server.Hub.Database, recent.FileName)));
    }

    [Fact]
    public async Task A_recipient_whose_store_has_no_data_makes_the_run_partial_and_names_it()
    {
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 5, Seed: 5, SessionsPerDay: 30));
        var config = EnvironmentFiles.Parse("""
            environment: dev
            reports:
              recipients:
                - {name: ghost, store: no-such-store, reports: [daily]}
            """, "reports-test.yaml", "dev");

        var run = new JobRunner(hub.Server.Hub.Database, hub.Server.Hub.Kpis, config).Run("report_daily", "test").Run!;

        Assert.Equal(RunStatus.Partial, run.Status);
        Assert.Contains("unknown store 'no-such-store'", run.ErrorMessage, StringComparison.Ordinal);
        Assert.Single(new ReportStore(hub.Server.Hub.Database).List());
    }

    [Theory]
    [InlineData("locale: fr-FR", "reports.locale: 'fr-FR' is not one of es-MX, es-CO, es-CL, sv-SE, en")]
    [InlineData("retention_days: 0", "reports.retention_days: must be at least 1, got 0")]
    [InlineData("recipients: [{name: a, store: s1, country: MX}]", "reports.recipients[0]: give store (a vendor) or country (a country lead), not both")]
    [InlineData("recipients: [{name: a}, {name: a}]", "reports.recipients[1].name: 'a' is used twice")]
    [InlineData("recipients: [{name: '../x'}]", "reports.recipients[0].name: '../x' must be 1 to 64 letters")]
    [InlineData("recipients: [{name: a, country: mx}]", "reports.recipients[0].country: 'mx' is not a two-letter country code such as MX")]
    [InlineData("recipients: [{name: a, reports: [yearly]}]", "reports.recipients[0].reports: 'yearly' is not daily, weekly or monthly")]
    [InlineData("recipients: [{name: a, email: x}]", "unknown key 'email'")]
    public void A_bad_reports_section_stops_the_start_with_a_message_naming_the_key(string line, string message)
    {
        var e = Assert.Throws<ConfigException>(() => EnvironmentFiles.Parse($"environment: dev\nreports:\n  {line}\n", "dev.yaml", "dev"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    private static List<string> ReportFiles(string folder) =>
        Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()!;

    /// <summary>Waits until every report job has <paramref name="runsPerJob"/> finished catch-up runs; returns the newest of each.</summary>
    private static async Task<List<PipelineRun>> CaughtUpAsync(KpiHub hub, int runsPerJob)
    {
        var database = hub.Server.Hub.Database;
        for (var i = 0; i < 1200; i++)
        {
            var runs = Jobs.Select(j => PipelineRuns.Query(database, new RunFilter(Job: j))
                .Where(r => r.Trigger == "catch-up" && r.Status != RunStatus.Running).ToList()).ToList();
            if (runs.All(r => r.Count >= runsPerJob))
            {
                Assert.All(runs, r => Assert.Equal(runsPerJob, r.Count));
                return runs.Select(r => r[0]).ToList();
            }
            await Task.Delay(100);
        }
        var seen = PipelineRuns.Query(database, new RunFilter()).Select(r => $"{r.Job} {r.Trigger} {PipelineRuns.StatusName(r.Status)} {PipelineRuns.Iso(r.StartTime)}");
        throw new TimeoutException($"the report jobs were not caught up {runsPerJob} times within 120 s; runs: {string.Join("; ", seen)}");
    }
}
