using System.Globalization;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Jobs;

/// <summary>How a run ended (seed 002): success, partial (some steps failed) or failed; running while it lasts.</summary>
public enum RunStatus
{
    Running,
    Success,
    Partial,
    Failed,
}

/// <summary>One row of <c>pipeline_runs</c> (seed 002's run metadata).</summary>
public sealed record PipelineRun(
    string RunId, string Job, string SourceSystem, DateTimeOffset StartTime, DateTimeOffset? EndTime, RunStatus Status,
    long RecordsWritten, string? ErrorMessage, string Trigger, string Details)
{
    /// <summary>Why a connector run failed: transient, auth, quota or schema (Connectors/ErrorClass.cs); null otherwise.</summary>
    public string? ErrorClass { get; init; }
}

/// <summary>Filters for listing runs (each optional).</summary>
public sealed record RunFilter(string? Job = null, RunStatus? Status = null, DateOnly? From = null, DateOnly? To = null, int Limit = 100);

/// <summary>
/// The <c>pipeline_runs</c> table: a row is written when a run starts (status running) and
/// completed when it ends, so a run that is going on, or was cut short by a crash, is visible.
/// </summary>
public static class PipelineRuns
{
    public static string StatusName(RunStatus status) => status switch
    {
        RunStatus.Running => "running",
        RunStatus.Success => "success",
        RunStatus.Partial => "partial",
        _ => "failed",
    };

    public static bool TryParseStatus(string text, out RunStatus status)
    {
        foreach (var s in Enum.GetValues<RunStatus>())
        {
            if (StatusName(s) == text)
            {
                status = s;
                return true;
            }
        }
        status = default;
        return false;
    }

    /// <summary>Time-ordered, unique and readable: <c>run_20261127T001000Z_3f9a1c</c>.</summary>
    public static string NewRunId(DateTimeOffset now) =>
        $"run_{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}_{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";

    public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static void Start(HubDatabase database, PipelineRun run) => Rows(database).Start(run);

    public static void Finish(HubDatabase database, string runId, DateTimeOffset end, RunStatus status, long records, string? error, string details) =>
        Rows(database).Finish(runId, end, status, records, error, details);

    /// <summary>
    /// Runs still marked running whose job is not running now (its lock is free) were cut short by
    /// a crash or a kill: they are marked failed, so the record never claims a run that is not going on.
    /// </summary>
    public static int FailAbandoned(HubDatabase database, Func<string, bool> isRunning, DateTimeOffset now) =>
        FailAbandoned(Rows(database), isRunning, now);

    /// <inheritdoc cref="FailAbandoned(HubDatabase, Func{string, bool}, DateTimeOffset)"/>
    public static int FailAbandoned(IRunRows rows, Func<string, bool> isRunning, DateTimeOffset now) =>
        rows.Query(new RunFilter(Status: RunStatus.Running, Limit: 10_000)).Where(r => !isRunning(r.Job))
            .Count(run => rows.FailIfRunning(run.RunId, now,
                "the process stopped during the run (crash, kill or shutdown); its work was not committed or was committed step by step, see details"));

    /// <summary>Newest first.</summary>
    public static IReadOnlyList<PipelineRun> Query(HubDatabase database, RunFilter filter) => Rows(database).Query(filter);

    public static IReadOnlyList<PipelineRun> Query(SqliteConnection connection, RunFilter filter) => RunRow.Query(connection, filter);

    /// <summary>One run by its id, or null.</summary>
    public static PipelineRun? Get(HubDatabase database, string runId) => Rows(database).Get(runId);

    /// <summary>When <paramref name="job"/> last started (any outcome), or null if it never ran.</summary>
    public static DateTimeOffset? LastStart(HubDatabase database, string job) => LastStart(Rows(database), job);

    /// <inheritdoc cref="LastStart(HubDatabase, string)"/>
    public static DateTimeOffset? LastStart(IRunRows rows, string job) =>
        rows.Query(new RunFilter(Job: job, Limit: 1)) is [var last, ..] ? last.StartTime : null;

    private static SqliteRunRows Rows(HubDatabase database) => new(database);
}
