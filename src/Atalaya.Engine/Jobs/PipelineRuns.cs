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

    public static void Start(HubDatabase database, PipelineRun run)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO pipeline_runs (run_id, job, source_system, start_time, status, trigger, details)
            VALUES ($id, $job, $source, $start, 'running', $trigger, $details);
            """;
        command.Parameters.AddWithValue("$id", run.RunId);
        command.Parameters.AddWithValue("$job", run.Job);
        command.Parameters.AddWithValue("$source", run.SourceSystem);
        command.Parameters.AddWithValue("$start", Iso(run.StartTime));
        command.Parameters.AddWithValue("$trigger", run.Trigger);
        command.Parameters.AddWithValue("$details", run.Details);
        command.ExecuteNonQuery();
    }

    public static void Finish(HubDatabase database, string runId, DateTimeOffset end, RunStatus status, long records, string? error, string details)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE pipeline_runs SET end_time = $end, status = $status, records_written = $records, error_message = $error, details = $details
            WHERE run_id = $id;
            """;
        command.Parameters.AddWithValue("$id", runId);
        command.Parameters.AddWithValue("$end", Iso(end));
        command.Parameters.AddWithValue("$status", StatusName(status));
        command.Parameters.AddWithValue("$records", records);
        command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        command.Parameters.AddWithValue("$details", details);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Runs still marked running whose job is not running now (its lock is free) were cut short by
    /// a crash or a kill: they are marked failed, so the record never claims a run that is not going on.
    /// </summary>
    public static int FailAbandoned(HubDatabase database, Func<string, bool> isRunning, DateTimeOffset now)
    {
        var abandoned = Query(database, new RunFilter(Status: RunStatus.Running, Limit: 10_000)).Where(r => !isRunning(r.Job)).ToList();
        foreach (var run in abandoned)
        {
            Finish(database, run.RunId, now, RunStatus.Failed, run.RecordsWritten,
                "the process stopped during the run (crash, kill or shutdown); its work was not committed or was committed step by step, see details", run.Details);
        }
        return abandoned.Count;
    }

    /// <summary>Newest first.</summary>
    public static IReadOnlyList<PipelineRun> Query(HubDatabase database, RunFilter filter)
    {
        using var connection = database.Connect();
        return Query(connection, filter);
    }

    public static IReadOnlyList<PipelineRun> Query(SqliteConnection connection, RunFilter filter)
    {
        var where = new List<string>();
        var values = new List<(string Name, object Value)>();
        void Add(string condition, string name, object value)
        {
            where.Add(condition);
            values.Add((name, value));
        }
        if (filter.Job is not null)
        {
            Add("job = $job", "$job", filter.Job);
        }
        if (filter.Status is { } status)
        {
            Add("status = $status", "$status", StatusName(status));
        }
        if (filter.From is { } from)
        {
            Add("start_time >= $from", "$from", from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }
        if (filter.To is { } to)
        {
            // Inclusive: every run that started on or before that UTC day.
            Add("start_time < $to", "$to", to.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }
        return Read(connection, where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where), command =>
        {
            foreach (var (name, value) in values)
            {
                command.Parameters.AddWithValue(name, value);
            }
        }, filter.Limit);
    }

    /// <summary>One run by its id, or null.</summary>
    public static PipelineRun? Get(HubDatabase database, string runId)
    {
        using var connection = database.Connect();
        return Read(connection, "WHERE run_id = $id", c => c.Parameters.AddWithValue("$id", runId), 1).FirstOrDefault();
    }

    /// <summary>When <paramref name="job"/> last started (any outcome), or null if it never ran.</summary>
    public static DateTimeOffset? LastStart(HubDatabase database, string job) =>
        Query(database, new RunFilter(Job: job, Limit: 1)) is [var last, ..] ? last.StartTime : null;

    private static List<PipelineRun> Read(SqliteConnection connection, string where, Action<SqliteCommand> bind, int limit)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT run_id, job, source_system, start_time, end_time, status, records_written, error_message, trigger, details, error_class
            FROM pipeline_runs {where}
            ORDER BY start_time DESC, run_id DESC LIMIT $limit;
            """;
        bind(command);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var runs = new List<PipelineRun>();
        while (reader.Read())
        {
            TryParseStatus(reader.GetString(5), out var s);
            runs.Add(new PipelineRun(reader.GetString(0), reader.GetString(1), reader.GetString(2), Parse(reader.GetString(3)),
                reader.IsDBNull(4) ? null : Parse(reader.GetString(4)), s, reader.GetInt64(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.GetString(8), reader.GetString(9))
            {
                ErrorClass = reader.IsDBNull(10) ? null : reader.GetString(10),
            });
        }
        return runs;
    }

    private static DateTimeOffset Parse(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
