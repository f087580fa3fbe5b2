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
        ["freshness", "mart_freshness", "null_rate", "volume", "schema_drift", "consistency", "reconciliation", "quarantine", "pipeline", "connector", "dead_letters"];

    /// <summary>Moves on with every run saved in this process, so that readers caching the newest run see a new one at once.</summary>
    public static long Generation => Interlocked.Read(ref _generation);

    private static long _generation;

    /// <summary>Saves a run's findings in the data folder's database (the tests' and the CLI's way in; a hub goes through <see cref="IQualityRows"/>).</summary>
    public static void Save(SqliteConnection connection, string runId, DateTimeOffset checkedAt, IReadOnlyList<QualityResult> results)
    {
        using var transaction = connection.BeginTransaction();
        QualityRow.Insert(connection, transaction, runId, checkedAt, results);
        transaction.Commit();
        Saved();
    }

    /// <summary>The newest run of the data folder that recorded results, or null.</summary>
    public static string? LatestRun(HubDatabase database) => new SqliteQualityRows(database).LatestRun();

    /// <summary>A run's findings in the data folder, worst first, then by check and subject (empty for an unknown run).</summary>
    public static IReadOnlyList<QualityResult> Read(HubDatabase database, string runId) => new SqliteQualityRows(database).Read(runId);

    /// <summary>A run's findings as stored, worst first: what needs attention leads, in the API and the dashboard alike.</summary>
    internal static IReadOnlyList<QualityResult> WorstFirst(IEnumerable<QualityResult> results) =>
        [.. results.OrderByDescending(r => r.Status).ThenBy(r => Order(r.Check)).ThenBy(r => r.Subject, StringComparer.Ordinal)];

    internal static void Saved() => Interlocked.Increment(ref _generation);

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
