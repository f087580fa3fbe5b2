using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Jobs;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Jobs;

/// <summary>
/// One run of a job at a time, across processes; <c>atalaya jobs run</c> and <c>atalaya runs</c>;
/// the HTTP endpoints <c>/api/runs</c>, <c>/api/jobs</c> and <c>POST /api/jobs/{name}/run</c> with
/// their roles and errors.
/// </summary>
public sealed class JobOperationsTests : IAsyncLifetime
{
    private KpiHub _hub = null!;

    public async Task InitializeAsync() => _hub = await JobTestData.DemoHubAsync(days: 6, seed: 3);

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private Engine.Storage.HubDatabase Database => _hub.Server.Hub.Database;

    private string Data => _hub.Server.DataDirectory;

    [Fact]
    public async Task A_second_process_is_refused_while_a_run_holds_the_lock_and_runs_once_it_is_free()
    {
        using (var held = JobLock.TryTake(Data, JobCatalog.MartsLock, "daily_batch run_held_by_test", out _))
        {
            Assert.NotNull(held);
            // The same lock is refused inside this process too (the scheduler and the API share it).
            Assert.Null(JobTestData.Runner(_hub).TryBegin("kpi_refresh", "test", out var holder));
            Assert.Contains("run_held_by_test", holder);

            var refused = await AtalayaProcess.RunAsync("jobs", "run", "daily_batch", "--data", Data);

            Assert.Equal(4, refused.ExitCode);
            Assert.Contains("already running", refused.Stderr);
            Assert.Empty(PipelineRuns.Query(Database, new RunFilter()));
        }

        var ran = await AtalayaProcess.RunAsync("jobs", "run", "daily_batch", "--data", Data);

        Assert.True(ran.ExitCode == 0, ran.Stdout + ran.Stderr);
        Assert.Contains("success", ran.Stdout);
        var run = Assert.Single(PipelineRuns.Query(Database, new RunFilter()));
        Assert.Equal(("daily_batch", "cli", RunStatus.Success), (run.Job, run.Trigger, run.Status));
        MartReference.AssertAllMarts(Database, _hub.Reference, DateOnly.FromDateTime(_hub.Reference.Events.Min(e => e.Timestamp).UtcDateTime), JobTestData.Yesterday);

        var listed = await AtalayaProcess.RunAsync("runs", "--data", Data, "--job", "daily_batch");
        Assert.Equal(0, listed.ExitCode);
        Assert.Matches($@"{run.RunId}\s+daily_batch\s+all\s+\S+\s+\S+\s+success\s+{run.RecordsWritten}", listed.Stdout);
        var unknown = await AtalayaProcess.RunAsync("jobs", "run", "nightly", "--data", Data);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("unknown job 'nightly'; jobs: daily_batch, kpi_refresh, dq_health, retention, report_daily, report_weekly, report_monthly", unknown.Stderr);
    }

    [Fact]
    public async Task Probing_whether_a_job_runs_neither_refuses_a_real_run_nor_hides_who_holds_the_lock()
    {
        Assert.False(JobLock.IsHeld(Data, JobCatalog.MartsLock));
        using (var run = JobLock.TryTake(Data, JobCatalog.MartsLock, "daily_batch run_real", out _))
        {
            Assert.NotNull(run);
            Assert.True(JobLock.IsHeld(Data, JobCatalog.MartsLock));
            Assert.Null(JobLock.TryTake(Data, JobCatalog.MartsLock, "other", out var holder));
            Assert.Contains("daily_batch run_real", holder);
        }
        // A probe holding the lock for an instant does not make a run starting at that moment be refused.
        var probing = Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                JobLock.IsHeld(Data, JobCatalog.MartsLock);
            }
        });
        for (var i = 0; i < 50; i++)
        {
            using var taken = JobLock.TryTake(Data, JobCatalog.MartsLock, "daily_batch run_" + i, out var busy);
            Assert.True(taken is not null, busy);
        }
        await probing;
    }

    [Fact]
    public void A_run_left_running_by_a_crash_is_recorded_failed_once_its_lock_is_free()
    {
        PipelineRuns.Start(Database, new PipelineRun("run_crashed", "daily_batch", "all", DateTimeOffset.UtcNow.AddMinutes(-5), null, RunStatus.Running, 0, null, "schedule", "{}"));
        PipelineRuns.Start(Database, new PipelineRun("run_alive", "kpi_refresh", "all", DateTimeOffset.UtcNow.AddMinutes(-1), null, RunStatus.Running, 0, null, "schedule", "{}"));

        var marked = PipelineRuns.FailAbandoned(Database, job => job == "kpi_refresh", DateTimeOffset.UtcNow);

        Assert.Equal(1, marked);
        var runs = PipelineRuns.Query(Database, new RunFilter()).ToDictionary(r => r.RunId);
        Assert.Equal(RunStatus.Failed, runs["run_crashed"].Status);
        Assert.Contains("process stopped during the run", runs["run_crashed"].ErrorMessage);
        Assert.Equal(RunStatus.Running, runs["run_alive"].Status);
    }

    private HttpClient Client(string token)
    {
        var client = new HttpClient { BaseAddress = _hub.Server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private string Token(Role role, IReadOnlyList<string>? stores = null) =>
        _hub.Server.Hub.Tokens.Create(new TokenRequest(role, "jobs-" + role, Stores: stores)).Secret;

    [Fact]
    public async Task An_admin_starts_a_run_over_http_and_follows_it_in_api_runs()
    {
        using var admin = Client(_hub.AdminToken);

        using var started = await admin.PostAsync("/api/jobs/daily_batch/run", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        using var body = JsonDocument.Parse(await started.Content.ReadAsStringAsync());
        var runId = body.RootElement.GetProperty("run_id").GetString()!;

        JsonElement run = default;
        for (var i = 0; i < 300; i++)
        {
            using var runs = JsonDocument.Parse(await admin.GetStringAsync("/api/runs?job=daily_batch"));
            run = runs.RootElement.GetProperty("data").EnumerateArray().Single().Clone();
            if (run.GetProperty("status").GetString() != "running")
            {
                break;
            }
            await Task.Delay(100);
        }
        Assert.Equal(runId, run.GetProperty("run_id").GetString());
        Assert.Equal("success", run.GetProperty("status").GetString());
        Assert.Equal("manual", run.GetProperty("trigger").GetString());
        Assert.True(run.GetProperty("records_written").GetInt64() > 0);
        foreach (var field in new[] { "job", "source_system", "start_time", "end_time", "error_message" })
        {
            Assert.True(run.TryGetProperty(field, out _), field);
        }
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd");
        Assert.Single(JsonDocument.Parse(await admin.GetStringAsync($"/api/runs?date={today}&status=success")).RootElement.GetProperty("data").EnumerateArray());
        Assert.Empty(JsonDocument.Parse(await admin.GetStringAsync("/api/runs?status=failed")).RootElement.GetProperty("data").EnumerateArray());
        Assert.Empty(JsonDocument.Parse(await admin.GetStringAsync("/api/runs?end_date=2020-01-01")).RootElement.GetProperty("data").EnumerateArray());

        using var jobs = JsonDocument.Parse(await admin.GetStringAsync("/api/jobs"));
        var daily = jobs.RootElement.GetProperty("data").EnumerateArray().Single(j => j.GetProperty("job").GetString() == "daily_batch");
        Assert.Equal("15 0 * * *", daily.GetProperty("schedule").GetString());
        Assert.Equal(runId, daily.GetProperty("last_run").GetProperty("run_id").GetString());
        var audited = _hub.Server.Hub.Audit;
        using var connection = Database.Connect();
        Assert.Contains(Engine.Audit.AuditLog.Query(connection, null, "POST /api/jobs/daily_batch/run", null, null, 10), e => e.Entry.Status == 202);
    }

    [Fact]
    public async Task Jobs_endpoints_answer_roles_and_bad_input_with_clear_4xx()
    {
        using var admin = Client(_hub.AdminToken);
        using var analyst = Client(Token(Role.Analyst));
        using var vendor = Client(Token(Role.Vendor, ["st-1"]));

        Assert.Equal(HttpStatusCode.OK, (await analyst.GetAsync("/api/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await analyst.GetAsync("/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await analyst.PostAsync("/api/jobs/daily_batch/run", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await vendor.GetAsync("/api/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient { BaseAddress = _hub.Server.BaseAddress }.GetAsync("/api/runs")).StatusCode);

        async Task Bad(HttpResponseMessage response, HttpStatusCode status, string message)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Contains(message, await response.Content.ReadAsStringAsync());
        }
        await Bad(await admin.GetAsync("/api/runs?status=done"), HttpStatusCode.BadRequest, "status: 'done' is not one of running, success, partial, failed");
        await Bad(await admin.GetAsync("/api/runs?job=nightly"), HttpStatusCode.BadRequest, "job: unknown job 'nightly'");
        await Bad(await admin.GetAsync("/api/runs?date=yesterday"), HttpStatusCode.BadRequest, "date: 'yesterday' is not a date");
        await Bad(await admin.GetAsync("/api/runs?limit=0"), HttpStatusCode.BadRequest, "limit: must be a whole number");
        await Bad(await admin.GetAsync("/api/runs?since=2026-01-01"), HttpStatusCode.BadRequest, "unknown parameter 'since'");
        await Bad(await admin.PostAsync("/api/jobs/nightly/run", null), HttpStatusCode.NotFound, "No job 'nightly'");

        using (JobLock.TryTake(Data, JobCatalog.MartsLock, "backfill run_from_elsewhere", out _))
        {
            await Bad(await admin.PostAsync("/api/jobs/daily_batch/run", null), HttpStatusCode.Conflict, "already running (backfill run_from_elsewhere");
        }
        Assert.Empty(PipelineRuns.Query(Database, new RunFilter()));
    }
}
