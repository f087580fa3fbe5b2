using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Quality;

/// <summary>
/// Where the <c>dq_health</c> job keeps its findings (<c>dq_results</c>): the data folder's SQLite
/// database (<see cref="SqliteQualityRows"/>) or, on a node started with <c>--postgres</c>, the
/// cluster's PostgreSQL (<see cref="PostgresQualityRows"/>), so that the run made on one node is
/// what <c>GET /api/quality</c>, the figures' health and the metrics show on every node. Only
/// reaching the database differs; the statements (<see cref="QualityRow"/>) and the order of the
/// findings (<see cref="QualityResults.WorstFirst"/>) are one code path for both.
/// </summary>
public interface IQualityRows
{
    /// <summary>Saves one run's findings, all or none.</summary>
    void Save(string runId, DateTimeOffset checkedAt, IReadOnlyList<QualityResult> results);

    /// <summary>The newest run that recorded findings, or null.</summary>
    string? LatestRun();

    /// <summary>A run's findings, worst first, then by check and subject (empty for an unknown run).</summary>
    IReadOnlyList<QualityResult> Read(string runId);
}

/// <summary>Opens the findings' store of a hub or a job.</summary>
public static class QualityRows
{
    /// <summary>The cluster's PostgreSQL when given (reaching it may throw <see cref="StateUnavailableException"/>), else the data folder.</summary>
    public static IQualityRows For(HubDatabase database, PostgresState? shared) => shared is null ? new SqliteQualityRows(database) : Shared(shared);

    /// <summary>The cluster's findings in PostgreSQL (reaching it may throw <see cref="StateUnavailableException"/>).</summary>
    public static IQualityRows Shared(PostgresState shared) => new PostgresQualityRows(shared);
}

/// <summary>Findings in the data folder's database (the embedded hub, and a node without <c>--postgres</c>).</summary>
internal sealed class SqliteQualityRows(HubDatabase database) : IQualityRows
{
    public void Save(string runId, DateTimeOffset checkedAt, IReadOnlyList<QualityResult> results)
    {
        using var connection = database.Connect();
        QualityResults.Save(connection, runId, checkedAt, results);
    }

    public string? LatestRun()
    {
        using var connection = database.Connect();
        return QualityRow.LatestRun(connection);
    }

    public IReadOnlyList<QualityResult> Read(string runId)
    {
        using var connection = database.Connect();
        return QualityRow.Read(connection, runId);
    }
}

/// <summary>Findings in a cluster's PostgreSQL, shared by every node; a server that cannot be reached is a <see cref="StateUnavailableException"/>.</summary>
internal sealed class PostgresQualityRows(PostgresState state) : IQualityRows
{
    public void Save(string runId, DateTimeOffset checkedAt, IReadOnlyList<QualityResult> results)
    {
        state.Run(connection =>
        {
            using var transaction = connection.BeginTransaction();
            QualityRow.Insert(connection, transaction, runId, checkedAt, results);
            transaction.Commit();
            return 0;
        });
        QualityResults.Saved();
    }

    public string? LatestRun() => state.Run(QualityRow.LatestRun);

    public IReadOnlyList<QualityResult> Read(string runId) => state.Run(connection => QualityRow.Read(connection, runId));
}

/// <summary>
/// The <c>dq_results</c> statements, the same text on SQLite and PostgreSQL: the table has the same
/// columns in both (times as ISO 8601 UTC text, which sorts as time), and both take <c>@name</c> parameters.
/// </summary>
internal static class QualityRow
{
    public static void Insert(DbConnection connection, DbTransaction transaction, string runId, DateTimeOffset checkedAt, IReadOnlyList<QualityResult> results)
    {
        foreach (var r in results)
        {
            using var command = Command(connection, """
                INSERT INTO dq_results (run_id, checked_at, check_name, subject, status, value, warn_at, fail_at, unit, message, country, since)
                VALUES (@run, @at, @check, @subject, @status, @value, @warn, @fail, @unit, @message, @country, @since);
                """, ("run", runId), ("at", PipelineRuns.Iso(checkedAt)), ("check", r.Check), ("subject", r.Subject),
                ("status", QualityResult.StatusName(r.Status)), ("value", r.Value), ("warn", r.WarnAt), ("fail", r.FailAt), ("unit", r.Unit),
                ("message", r.Message), ("country", r.Country), ("since", r.Since is { } since ? PipelineRuns.Iso(since) : null));
            command.Transaction = transaction;
            command.ExecuteNonQuery();
        }
    }

    public static string? LatestRun(DbConnection connection)
    {
        using var command = Command(connection, "SELECT run_id FROM dq_results ORDER BY checked_at DESC, run_id DESC LIMIT 1;");
        return command.ExecuteScalar() as string;
    }

    public static IReadOnlyList<QualityResult> Read(DbConnection connection, string runId)
    {
        using var command = Command(connection, """
            SELECT check_name, subject, status, value, warn_at, fail_at, unit, message, checked_at, country, since
            FROM dq_results WHERE run_id = @run;
            """, ("run", runId));
        using var reader = command.ExecuteReader();
        var results = new List<QualityResult>();
        while (reader.Read())
        {
            QualityResult.TryParseStatus(reader.GetString(2), out var status);
            results.Add(new QualityResult(reader.GetString(0), reader.GetString(1), status,
                reader.IsDBNull(3) ? null : reader.GetDouble(3), reader.IsDBNull(4) ? null : reader.GetDouble(4),
                reader.IsDBNull(5) ? null : reader.GetDouble(5), reader.GetString(6), reader.GetString(7))
            {
                RunId = runId,
                CheckedAt = Parse(reader.GetString(8)),
                Country = reader.IsDBNull(9) ? null : reader.GetString(9),
                Since = reader.IsDBNull(10) ? null : Parse(reader.GetString(10)),
            });
        }
        return QualityResults.WorstFirst(results);
    }

    /// <summary>A portable statement (<see cref="PortableSql"/>) whose null value and limits are numbers, other nulls text.</summary>
    private static DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] values)
    {
        var command = PortableSql.Command(connection, sql);
        foreach (var (name, value) in values)
        {
            PortableSql.Add(command, name, value, name is "value" or "warn" or "fail" ? System.Data.DbType.Double : System.Data.DbType.String);
        }
        return command;
    }

    private static DateTimeOffset Parse(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
