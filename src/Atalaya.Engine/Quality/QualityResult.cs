using System.Globalization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Quality;

/// <summary>How a check came out, from best to worst; skipped when there was nothing to judge.</summary>
public enum QualityStatus
{
    Ok,
    Skipped,
    Warn,
    Fail,
}

/// <summary>
/// One finding of one check: what was checked (<see cref="Subject"/>: a source system, a mart, a
/// field, an event type), the measured value with its unit, the limits it was judged by and a
/// sentence that says what it means and what to do.
/// </summary>
public sealed record QualityResult(string Check, string Subject, QualityStatus Status, double? Value, double? WarnAt, double? FailAt, string Unit, string Message)
{
    public string RunId { get; init; } = "";

    public DateTimeOffset CheckedAt { get; init; }

    /// <summary>The country the finding is about (a per-country check), or null for the whole hub.</summary>
    public string? Country { get; init; }

    /// <summary>For a freshness finding, when its subject's newest event was received: the figures are stale since then.</summary>
    public DateTimeOffset? Since { get; init; }

    public static string StatusName(QualityStatus status) => status switch
    {
        QualityStatus.Ok => "ok",
        QualityStatus.Skipped => "skipped",
        QualityStatus.Warn => "warn",
        _ => "fail",
    };

    public static bool TryParseStatus(string text, out QualityStatus status)
    {
        foreach (var s in Enum.GetValues<QualityStatus>())
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

    /// <summary>A rising limit: at or beyond fail is fail, at or beyond warn is warn.</summary>
    public static QualityStatus Judge(double value, double warn, double fail) =>
        value >= fail ? QualityStatus.Fail : value >= warn ? QualityStatus.Warn : QualityStatus.Ok;
}

/// <summary>The <c>dq_results</c> table: every run's findings, kept for history.</summary>
public static class QualityResults
{
    public static readonly IReadOnlyList<string> Checks =
        ["freshness", "mart_freshness", "null_rate", "volume", "schema_drift", "consistency", "quarantine", "pipeline", "connector", "dead_letters"];

    /// <summary>Moves on with every run saved in this process, so that readers caching the newest run see a new one at once.</summary>
    public static long Generation => Interlocked.Read(ref _generation);

    private static long _generation;

    public static void Save(SqliteConnection connection, string runId, DateTimeOffset checkedAt, IReadOnlyList<QualityResult> results)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO dq_results (run_id, checked_at, check_name, subject, status, value, warn_at, fail_at, unit, message, country, since)
            VALUES ($run, $at, $check, $subject, $status, $value, $warn, $fail, $unit, $message, $country, $since);
            """;
        foreach (var r in results)
        {
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$run", runId);
            command.Parameters.AddWithValue("$at", PipelineRuns.Iso(checkedAt));
            command.Parameters.AddWithValue("$check", r.Check);
            command.Parameters.AddWithValue("$subject", r.Subject);
            command.Parameters.AddWithValue("$status", QualityResult.StatusName(r.Status));
            command.Parameters.AddWithValue("$value", (object?)r.Value ?? DBNull.Value);
            command.Parameters.AddWithValue("$warn", (object?)r.WarnAt ?? DBNull.Value);
            command.Parameters.AddWithValue("$fail", (object?)r.FailAt ?? DBNull.Value);
            command.Parameters.AddWithValue("$unit", r.Unit);
            command.Parameters.AddWithValue("$message", r.Message);
            command.Parameters.AddWithValue("$country", (object?)r.Country ?? DBNull.Value);
            command.Parameters.AddWithValue("$since", r.Since is { } since ? PipelineRuns.Iso(since) : DBNull.Value);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
        Interlocked.Increment(ref _generation);
    }

    /// <summary>The newest run that recorded results, or null.</summary>
    public static string? LatestRun(HubDatabase database)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT run_id FROM dq_results ORDER BY checked_at DESC, run_id DESC LIMIT 1;";
        return command.ExecuteScalar() as string;
    }

    /// <summary>A run's findings, worst first, then by check and subject (empty for an unknown run).</summary>
    public static IReadOnlyList<QualityResult> Read(HubDatabase database, string runId)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT check_name, subject, status, value, warn_at, fail_at, unit, message, checked_at, country, since
            FROM dq_results WHERE run_id = $run ORDER BY check_name, subject;
            """;
        command.Parameters.AddWithValue("$run", runId);
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
                CheckedAt = DateTimeOffset.Parse(reader.GetString(8), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                Country = reader.IsDBNull(9) ? null : reader.GetString(9),
                Since = reader.IsDBNull(10) ? null : DateTimeOffset.Parse(reader.GetString(10), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            });
        }
        // Worst first: what needs attention leads, in the API and the dashboard alike.
        return [.. results.OrderByDescending(r => r.Status).ThenBy(r => Order(r.Check)).ThenBy(r => r.Subject, StringComparer.Ordinal)];
    }

    public static QualityStatus Worst(IEnumerable<QualityResult> results) =>
        results.Select(r => r.Status).DefaultIfEmpty(QualityStatus.Ok).Max();

    private static int Order(string check)
    {
        for (var i = 0; i < Checks.Count; i++)
        {
            if (Checks[i] == check)
            {
                return i;
            }
        }
        return Checks.Count;
    }
}
