using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Jobs;

/// <summary>
/// Where <see cref="PipelineRuns"/> keeps the <c>pipeline_runs</c> rows: the data folder's SQLite
/// database (<see cref="SqliteRunRows"/>) or a cluster's PostgreSQL (<see cref="PostgresRunRows"/>).
/// Only reaching the database differs; the statements (<see cref="RunRow"/>) and the run logic
/// (abandoned runs, last start, what is due) are one code path for both.
/// </summary>
public interface IRunRows
{
    /// <summary>Writes a new run as running.</summary>
    void Start(PipelineRun run);

    void Finish(string runId, DateTimeOffset end, RunStatus status, long records, string? error, string details);

    /// <summary>
    /// Marks a run failed only if it is still marked running; false when it ended meanwhile. Another
    /// process (a cluster node, <c>jobs run</c>) may finish the run between the look for abandoned
    /// runs and this update: its own outcome must stand.
    /// </summary>
    bool FailIfRunning(string runId, DateTimeOffset end, string error);

    /// <summary>Records why a connector run failed (transient, auth, quota, schema), or clears it with null.</summary>
    void SetErrorClass(string runId, string? errorClass);

    /// <summary>Newest first.</summary>
    IReadOnlyList<PipelineRun> Query(RunFilter filter);

    PipelineRun? Get(string runId);

    /// <summary>When each job last ended successfully (its start when the end is missing), for the metrics.</summary>
    IReadOnlyDictionary<string, DateTimeOffset> LastSuccesses();
}

/// <summary>Run rows in the data folder's database (the embedded hub, and a node without <c>--postgres</c>).</summary>
internal sealed class SqliteRunRows(HubDatabase database) : IRunRows
{
    public void Start(PipelineRun run)
    {
        using var connection = database.Connect();
        RunRow.Insert(connection, run);
    }

    public void Finish(string runId, DateTimeOffset end, RunStatus status, long records, string? error, string details)
    {
        using var connection = database.Connect();
        RunRow.Update(connection, runId, end, status, records, error, details);
    }

    public bool FailIfRunning(string runId, DateTimeOffset end, string error)
    {
        using var connection = database.Connect();
        return RunRow.FailIfRunning(connection, runId, end, error);
    }

    public void SetErrorClass(string runId, string? errorClass)
    {
        using var connection = database.Connect();
        RunRow.SetErrorClass(connection, runId, errorClass);
    }

    public IReadOnlyList<PipelineRun> Query(RunFilter filter)
    {
        using var connection = database.Connect();
        return RunRow.Query(connection, filter);
    }

    public PipelineRun? Get(string runId)
    {
        using var connection = database.Connect();
        return RunRow.Get(connection, runId);
    }

    public IReadOnlyDictionary<string, DateTimeOffset> LastSuccesses()
    {
        using var connection = database.Connect();
        return RunRow.LastSuccesses(connection);
    }
}

/// <summary>
/// The <c>pipeline_runs</c> statements, the same text on SQLite and PostgreSQL: the table has the
/// same columns in both (times as ISO 8601 UTC text, which sorts as time), and both take
/// <c>@name</c> parameters.
/// </summary>
internal static class RunRow
{
    public static void Insert(DbConnection connection, PipelineRun run) => Execute(connection, """
        INSERT INTO pipeline_runs (run_id, job, source_system, start_time, status, trigger, details)
        VALUES (@id, @job, @source, @start, 'running', @trigger, @details);
        """, ("id", run.RunId), ("job", run.Job), ("source", run.SourceSystem), ("start", PipelineRuns.Iso(run.StartTime)),
        ("trigger", run.Trigger), ("details", run.Details));

    public static void Update(DbConnection connection, string runId, DateTimeOffset end, RunStatus status, long records, string? error, string details) =>
        Execute(connection, """
            UPDATE pipeline_runs SET end_time = @end, status = @status, records_written = @records, error_message = @error, details = @details
            WHERE run_id = @id;
            """, ("id", runId), ("end", PipelineRuns.Iso(end)), ("status", PipelineRuns.StatusName(status)), ("records", records),
            ("error", error), ("details", details));

    public static bool FailIfRunning(DbConnection connection, string runId, DateTimeOffset end, string error)
    {
        using var command = PortableSql.Command(connection,
            "UPDATE pipeline_runs SET end_time = @end, status = 'failed', error_message = @error WHERE run_id = @id AND status = 'running';",
            ("id", runId), ("end", PipelineRuns.Iso(end)), ("error", error));
        return command.ExecuteNonQuery() == 1;
    }

    public static void SetErrorClass(DbConnection connection, string runId, string? errorClass) =>
        Execute(connection, "UPDATE pipeline_runs SET error_class = @class WHERE run_id = @id;", ("id", runId), ("class", errorClass));

    public static List<PipelineRun> Query(DbConnection connection, RunFilter filter)
    {
        var where = new List<string>();
        var values = new List<(string, object?)>();
        void Add(string condition, string name, object value)
        {
            where.Add(condition);
            values.Add((name, value));
        }
        if (filter.Job is not null)
        {
            Add("job = @job", "job", filter.Job);
        }
        if (filter.Status is { } status)
        {
            Add("status = @status", "status", PipelineRuns.StatusName(status));
        }
        if (filter.From is { } from)
        {
            Add("start_time >= @from", "from", from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }
        if (filter.To is { } to)
        {
            // Inclusive: every run that started on or before that UTC day.
            Add("start_time < @to", "to", to.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }
        return Read(connection, where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where), values, filter.Limit);
    }

    public static Dictionary<string, DateTimeOffset> LastSuccesses(DbConnection connection)
    {
        using var command = PortableSql.Command(connection, "SELECT job, MAX(COALESCE(end_time, start_time)) FROM pipeline_runs WHERE status = 'success' GROUP BY job;", []);
        using var reader = command.ExecuteReader();
        var last = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        while (reader.Read())
        {
            last[reader.GetString(0)] = Parse(reader.GetString(1));
        }
        return last;
    }

    public static PipelineRun? Get(DbConnection connection, string runId) =>
        Read(connection, "WHERE run_id = @id", [("id", runId)], 1).FirstOrDefault();

    private static List<PipelineRun> Read(DbConnection connection, string where, List<(string, object?)> values, int limit)
    {
        using var command = PortableSql.Command(connection, $"""
            SELECT run_id, job, source_system, start_time, end_time, status, records_written, error_message, trigger, details, error_class
            FROM pipeline_runs {where}
            ORDER BY start_time DESC, run_id DESC LIMIT @limit;
            """, [.. values, ("limit", limit)]);
        using var reader = command.ExecuteReader();
        var runs = new List<PipelineRun>();
        while (reader.Read())
        {
            PipelineRuns.TryParseStatus(reader.GetString(5), out var s);
            runs.Add(new PipelineRun(reader.GetString(0), reader.GetString(1), reader.GetString(2), Parse(reader.GetString(3)),
                reader.IsDBNull(4) ? null : Parse(reader.GetString(4)), s, reader.GetInt64(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.GetString(8), reader.GetString(9))
            {
                ErrorClass = reader.IsDBNull(10) ? null : reader.GetString(10),
            });
        }
        return runs;
    }

    private static void Execute(DbConnection connection, string sql, params (string Name, object? Value)[] values)
    {
        using var command = PortableSql.Command(connection, sql, values);
        command.ExecuteNonQuery();
    }

    private static DateTimeOffset Parse(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
