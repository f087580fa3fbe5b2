using Atalaya.Engine.Config;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Jobs;

/// <summary>What a job works with: the store, the KPI engine, the environment, the run's id and clock.</summary>
public sealed record JobContext(HubDatabase Database, KpiEngine Engine, EnvironmentConfig Config, string RunId, TimeProvider Time)
{
    /// <summary>Saves the KPI projection's snapshot; set only inside <c>serve</c>, which owns the snapshot file.</summary>
    public Action? SaveSnapshot { get; init; }

    /// <summary>Where the stored events end and which days late ones fall on (the data folder's log, or a cluster's ClickHouse).</summary>
    public IEventPositions Events { get; init; } = new StoredEventPositions(Database, Engine);

    /// <summary>The currency money KPIs are reported in (the hub's <c>--reporting-currency</c>), for the reports' formats.</summary>
    public string ReportingCurrency { get; init; } = "USD";

    /// <summary>Where runs are recorded (the data folder, or the cluster's PostgreSQL): a job that reads runs (the quality checks) reads them there.</summary>
    public JobState? State { get; init; }

    /// <summary>The runs of the hub: the cluster's when its runs live in PostgreSQL.</summary>
    public IRunRows Runs => State?.Runs ?? new SqliteRunRows(Database);

    /// <summary>On a node started with <c>--postgres</c>, the cluster's PostgreSQL, where a job keeps what every node reads (marts, reports, quality results, queued notifications); null in the data folder.</summary>
    public Postgres.PostgresState? Shared => State?.SharedState;
}

/// <summary>
/// A job: its name, what it does, the configuration key of its schedule, the lock it shares with
/// jobs that write the same tables (daily_batch, kpi_refresh and backfill all write the marts),
/// and its steps.
/// </summary>
public sealed record JobDefinition(string Name, string Description, string ScheduleKey, string LockName, Func<JobContext, IReadOnlyList<StepOutcome>> Run)
{
    /// <summary>Whether the scheduler runs it (retention only when the environment turns it on).</summary>
    public bool Scheduled { get; init; } = true;

    /// <summary>
    /// Whether it rewrites or drops stored events in the data folder's log (the retention jobs). On a
    /// cluster the events live in ClickHouse: unless it also says <see cref="RewritesOnCluster"/>, such a
    /// job fails there, saying so, rather than succeed having changed nothing (docs/scale-out.md).
    /// </summary>
    public bool RewritesStoredEvents { get; init; }

    /// <summary>A job that rewrites stored events and does so on a cluster too (in ClickHouse, found through <see cref="JobContext.Events"/>): it runs there.</summary>
    public bool RewritesOnCluster { get; init; }
}

/// <summary>The outcome of asking for a run: the recorded run, or who holds the lock when it could not start.</summary>
internal sealed record RunRequestResult(PipelineRun? Run, string? BusyWith);

/// <summary>A run that holds its job's lock and is recorded as running.</summary>
public sealed class StartedRun(JobDefinition definition, string runId, IDisposable held) : IDisposable
{
    public JobDefinition Definition { get; } = definition;

    public string RunId { get; } = runId;

    public void Dispose() => held.Dispose();
}
