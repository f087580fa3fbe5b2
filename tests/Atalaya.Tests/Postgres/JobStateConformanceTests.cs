using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Job runs and job locks, asserted the same way on both places they can live: the data folder
/// (SQLite rows, file locks) and a cluster's PostgreSQL (rows, advisory locks). Two
/// <see cref="JobState"/>s on one backing play two processes or two nodes; a clock the test sets
/// gives the runs their start times.
/// </summary>
public sealed class JobStateConformanceTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly TempDirectory _folder = new("atalaya-jobstate");
    private readonly List<PostgresState> _opened = [];
    private readonly SetClock _clock = new();
    private string _postgres = "";

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    public async Task InitializeAsync() => _postgres = await server.NewDatabaseAsync();

    public Task DisposeAsync()
    {
        _opened.ForEach(s => s.Dispose());
        _folder.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_run_is_recorded_running_while_it_lasts_then_with_its_outcome_and_another_process_reads_the_same_row(string backend)
    {
        var runner = Runner(backend);
        IReadOnlyList<PipelineRun> whileRunning = [];
        var job = new JobDefinition("daily_batch", "test", "jobs.daily_batch_schedule", JobCatalog.MartsLock, c =>
        {
            whileRunning = State(backend).Runs.Query(new RunFilter(Status: RunStatus.Running));
            _clock.Now = _clock.Now.AddSeconds(90);
            return [new StepOutcome("staging", true, 0, null, null, null) { Events = 12, Writes = false },
                new StepOutcome("daily_metrics", true, 40, new DateOnly(2026, 11, 1), new DateOnly(2026, 11, 30), null),
                new StepOutcome("product_metrics", false, 0, null, null, "disk full")];
        });

        var started = runner.TryBegin(job, "manual", "all", out var busy);
        Assert.NotNull(started);
        Assert.Null(busy);
        var run = runner.Execute(started);

        var running = Assert.Single(whileRunning);
        Assert.Equal((started.RunId, RunStatus.Running, (DateTimeOffset?)null), (running.RunId, running.Status, running.EndTime));
        var read = State(backend).Runs.Get(started.RunId)!;
        Assert.Equal(run, read);
        Assert.Equal(("daily_batch", "all", "manual", RunStatus.Partial, 40L), (read.Job, read.SourceSystem, read.Trigger, read.Status, read.RecordsWritten));
        Assert.Equal("product_metrics: disk full", read.ErrorMessage);
        Assert.Equal(_clock.Start, read.StartTime);
        Assert.Equal(_clock.Start.AddSeconds(90), read.EndTime);
        using var details = JsonDocument.Parse(read.Details);
        Assert.Equal(["staging", "daily_metrics", "product_metrics"], details.RootElement.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetString()));
        Assert.Equal("2026-11-30", details.RootElement.GetProperty("steps")[1].GetProperty("to").GetString());
        Assert.Null(State(backend).Runs.Get("run_nonexistent"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Runs_list_newest_first_and_each_filter_keeps_what_a_plain_filter_of_all_runs_keeps(string backend)
    {
        var runner = Runner(backend);
        var jobs = new[] { "daily_batch", "kpi_refresh", "dq_health" };
        var outcomes = new[] { true, false };
        for (var i = 0; i < 12; i++)
        {
            // Several a day over four days, some at the same instant (then ordered by run id).
            _clock.Now = _clock.Start.AddHours(i * 9 + (i % 4 == 0 ? 0 : 1));
            var ok = outcomes[i % 2];
            var definition = new JobDefinition(jobs[i % 3], "test", "", jobs[i % 3], _ => [new StepOutcome("step", ok, i, null, null, ok ? null : "failed on purpose")]);
            runner.Execute(runner.TryBegin(definition, "test", "all", out _)!);
        }
        var all = State(backend).Runs.Query(new RunFilter(Limit: 10_000));
        Assert.Equal(12, all.Count);
        Assert.Equal(all.OrderByDescending(r => r.StartTime).ThenByDescending(r => r.RunId, StringComparer.Ordinal).Select(r => r.RunId), all.Select(r => r.RunId));

        var day = DateOnly.FromDateTime(_clock.Start.AddDays(1).UtcDateTime);
        foreach (var filter in new[]
        {
            new RunFilter(Job: "kpi_refresh"),
            new RunFilter(Status: RunStatus.Failed),
            new RunFilter(Job: "daily_batch", Status: RunStatus.Success),
            new RunFilter(From: day, To: day),
            new RunFilter(From: day),
            new RunFilter(To: day, Limit: 3),
            new RunFilter(Limit: 1),
        })
        {
            var expected = all.Where(r => (filter.Job is null || r.Job == filter.Job) && (filter.Status is null || r.Status == filter.Status)
                    && (filter.From is null || DateOnly.FromDateTime(r.StartTime.UtcDateTime) >= filter.From)
                    && (filter.To is null || DateOnly.FromDateTime(r.StartTime.UtcDateTime) <= filter.To))
                .Take(filter.Limit).Select(r => r.RunId);
            Assert.Equal(expected, State(backend).Runs.Query(filter).Select(r => r.RunId));
        }
        Assert.Equal(all.First(r => r.Job == "dq_health").StartTime, PipelineRuns.LastStart(State(backend).Runs, "dq_health"));
        Assert.Null(PipelineRuns.LastStart(State(backend).Runs, "retention"));
        var lastSuccesses = all.Where(r => r.Status == RunStatus.Success).GroupBy(r => r.Job).ToDictionary(g => g.Key, g => g.Max(r => r.EndTime ?? r.StartTime));
        Assert.Equal(lastSuccesses.OrderBy(p => p.Key, StringComparer.Ordinal), State(backend).Runs.LastSuccesses().OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_second_run_is_refused_with_the_holder_named_and_runs_once_the_first_releases_the_lock(string backend)
    {
        var here = State(backend);
        var elsewhere = State(backend);
        Assert.False(elsewhere.Locks.IsHeld(JobCatalog.MartsLock));

        using (var held = here.Locks.TryTake(JobCatalog.MartsLock, "daily_batch run_held_by_test", out var none))
        {
            Assert.NotNull(held);
            Assert.Null(none);
            Assert.True(elsewhere.Locks.IsHeld(JobCatalog.MartsLock));
            Assert.False(elsewhere.Locks.IsHeld("quality")); // another lock is free
            Assert.Null(elsewhere.Locks.TryTake(JobCatalog.MartsLock, "kpi_refresh run_other", out var holder));
            Assert.Contains("daily_batch run_held_by_test", holder, StringComparison.Ordinal);
            Assert.Contains($"pid {Environment.ProcessId}", holder, StringComparison.Ordinal);

            // The runner refuses the same way and records nothing.
            Assert.Null(Runner(backend).TryBegin("kpi_refresh", "test", out var busy));
            Assert.Contains("run_held_by_test", busy, StringComparison.Ordinal);
            Assert.Empty(elsewhere.Runs.Query(new RunFilter()));
        }

        Assert.False(elsewhere.Locks.IsHeld(JobCatalog.MartsLock));
        using var next = elsewhere.Locks.TryTake(JobCatalog.MartsLock, "kpi_refresh run_next", out var free);
        Assert.NotNull(next);
        Assert.Null(free);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_run_left_running_is_recorded_failed_only_once_its_lock_is_free(string backend)
    {
        var state = State(backend);
        state.Runs.Start(new PipelineRun("run_crashed", "daily_batch", "all", _clock.Now.AddMinutes(-5), null, RunStatus.Running, 0, null, "schedule", "{}"));
        state.Runs.Start(new PipelineRun("run_alive", "dq_health", "all", _clock.Now.AddMinutes(-1), null, RunStatus.Running, 0, null, "schedule", "{}"));
        using var alive = State(backend).Locks.TryTake("quality", "dq_health run_alive", out _);
        Assert.NotNull(alive);

        var config = JobTestData.Config;
        var marked = PipelineRuns.FailAbandoned(state.Runs, job => JobCatalog.Find(config, job) is { } d && state.Locks.IsHeld(d.LockName), _clock.Now);

        Assert.Equal(1, marked);
        var runs = State(backend).Runs.Query(new RunFilter()).ToDictionary(r => r.RunId);
        Assert.Equal(RunStatus.Failed, runs["run_crashed"].Status);
        Assert.Equal(_clock.Now, runs["run_crashed"].EndTime);
        Assert.Contains("process stopped during the run", runs["run_crashed"].ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Running, runs["run_alive"].Status);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_run_that_ends_while_another_process_looks_for_abandoned_runs_keeps_its_own_outcome(string backend)
    {
        // Another node's run ends between this node's look at the running runs and its check of the
        // lock: the lock is free by then, yet the run finished on its own and must stay a success.
        var state = State(backend);
        var other = State(backend);
        state.Runs.Start(new PipelineRun("run_other_node", "daily_batch", "all", _clock.Now.AddSeconds(-1), null, RunStatus.Running, 0, null, "catch-up", "{}"));

        var marked = PipelineRuns.FailAbandoned(state.Runs, job =>
        {
            other.Runs.Finish("run_other_node", _clock.Now, RunStatus.Success, 42, null, "{}");
            return false;
        }, _clock.Now.AddSeconds(1));

        Assert.Equal(0, marked);
        var run = State(backend).Runs.Get("run_other_node")!;
        Assert.Equal(RunStatus.Success, run.Status);
        Assert.Equal(42, run.RecordsWritten);
        Assert.Equal(_clock.Now, run.EndTime);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_job_another_process_ran_since_it_fell_due_is_not_run_again_once_the_lock_is_held(string backend)
    {
        var due = _clock.Now;
        bool NotRunSinceDue(IRunRows rows) => !(PipelineRuns.LastStart(rows, "dq_health") >= due);
        _clock.Now = due.AddSeconds(1);

        var first = Runner(backend).TryBegin("dq_health", "schedule", out _, NotRunSinceDue);
        Assert.NotNull(first);
        first.Dispose(); // its row says running; the lock is free again

        var second = Runner(backend).TryBegin("dq_health", "schedule", out var busy, NotRunSinceDue);
        Assert.Null(second);
        Assert.Null(busy); // not refused by a holder: nothing was due
        Assert.Equal([first.RunId], State(backend).Runs.Query(new RunFilter(Job: "dq_health")).Select(r => r.RunId));
        Assert.False(State(backend).Locks.IsHeld("quality"));
    }

    /// <summary>The D+1 batch on a real hub records its run in either place and writes its marts there; they equal the reference computation.</summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task The_daily_batch_records_its_run_in_the_job_state_and_its_marts_equal_the_reference(string backend)
    {
        await using var hub = await JobTestData.DemoHubAsync(days: 5, seed: 7);
        var database = hub.Server.Hub.Database;
        var state = backend == "sqlite" ? JobState.Embedded(database) : State(backend);
        var runner = new JobRunner(database, hub.Server.Hub.Kpis, JobTestData.Config) { State = state };

        var result = runner.Run("daily_batch", "test");

        Assert.Equal(RunStatus.Success, result.Run!.Status);
        Assert.True(result.Run.RecordsWritten > 0);
        Assert.Equal(result.Run, Assert.Single(state.Runs.Query(new RunFilter(Job: "daily_batch"))));
        Assert.Equal(backend == "sqlite" ? 1 : 0, PipelineRuns.Query(database, new RunFilter(Job: "daily_batch")).Count);
        // The marts are where the state is: the data folder, or the cluster's PostgreSQL.
        MartReference.AssertAllMarts(MartStore.For(database, state.SharedState), hub.Reference, DateOnly.FromDateTime(hub.Reference.Events.Min(e => e.Timestamp).UtcDateTime), JobTestData.Yesterday);
    }

    private JobRunner Runner(string backend) =>
        new(Database(), new KpiEngine(KpiDictionary.Default, _clock), JobTestData.Config, _clock) { State = State(backend) };

    private HubDatabase Database() => HubDatabase.Open(_folder.Path);

    /// <summary>A new view of the backend, as another process or node would open it.</summary>
    private JobState State(string backend)
    {
        if (backend == "sqlite")
        {
            return JobState.Embedded(Database());
        }
        var state = PostgresState.Open(_postgres);
        _opened.Add(state);
        return JobState.Shared(state);
    }

    /// <summary>A clock that stands still until the test moves it (millisecond aligned, as stored times are).</summary>
    private sealed class SetClock : TimeProvider
    {
        public SetClock()
        {
            var now = DateTimeOffset.UtcNow.AddDays(-10);
            Start = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
            Now = Start;
        }

        public DateTimeOffset Start { get; }

        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
