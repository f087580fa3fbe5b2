using System.Globalization;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi.Query;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Alerts;

/// <summary>One episode of a rule on a subject: firing from <see cref="StartedAt"/> until resolved.</summary>
public sealed record Alert(
    string AlertId, string Rule, string Subject, string Severity, string State, DateTimeOffset StartedAt, DateTimeOffset? ResolvedAt,
    double? Value, double? Threshold, IReadOnlyDictionary<string, IReadOnlyList<string>> Scope, string Message,
    DateTimeOffset? AckedAt, string? AckedBy, DateTimeOffset? LastNotifiedAt)
{
    public bool Firing => State == "firing";
}

/// <summary>
/// The <c>alerts</c> table. At most one firing row per (rule, subject) — a unique partial index
/// holds it even if two evaluations raced — so an alert fires once and later cycles update it.
/// </summary>
public static class AlertStore
{
    public static string NewAlertId(DateTimeOffset now) =>
        $"alr_{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}_{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";

    public static IReadOnlyList<Alert> Firing(SqliteConnection connection) => Read(connection, "WHERE state = 'firing'", _ => { }, int.MaxValue);

    public static Alert? Get(SqliteConnection connection, string alertId) =>
        Read(connection, "WHERE alert_id = $id", c => c.Parameters.AddWithValue("$id", alertId), 1).FirstOrDefault();

    /// <summary>Newest first: every firing alert, then resolved ones, up to <paramref name="limit"/>.</summary>
    public static IReadOnlyList<Alert> Recent(SqliteConnection connection, string? state, int limit) =>
        Read(connection, state is null ? "" : "WHERE state = $state", c => c.Parameters.AddWithValue("$state", state ?? ""), limit);

    public static void Insert(SqliteConnection connection, Alert a)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO alerts (alert_id, rule, subject, severity, state, started_at, value, threshold, scope, message, last_notified_at)
            VALUES ($id, $rule, $subject, $severity, 'firing', $started, $value, $threshold, $scope, $message, $notified);
            """;
        command.Parameters.AddWithValue("$id", a.AlertId);
        command.Parameters.AddWithValue("$rule", a.Rule);
        command.Parameters.AddWithValue("$subject", a.Subject);
        command.Parameters.AddWithValue("$severity", a.Severity);
        command.Parameters.AddWithValue("$started", PipelineRuns.Iso(a.StartedAt));
        command.Parameters.AddWithValue("$value", Db(a.Value));
        command.Parameters.AddWithValue("$threshold", Db(a.Threshold));
        command.Parameters.AddWithValue("$scope", ScopeJson(a.Scope));
        command.Parameters.AddWithValue("$message", a.Message);
        command.Parameters.AddWithValue("$notified", a.LastNotifiedAt is { } n ? PipelineRuns.Iso(n) : DBNull.Value);
        command.ExecuteNonQuery();
    }

    /// <summary>A firing alert's latest value and message (and when it was last sent, if it was sent again).</summary>
    public static void Update(SqliteConnection connection, string alertId, double? value, double? threshold, string message, DateTimeOffset? notifiedAt)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE alerts SET value = $value, threshold = $threshold, message = $message,
                last_notified_at = COALESCE($notified, last_notified_at)
            WHERE alert_id = $id;
            """;
        command.Parameters.AddWithValue("$id", alertId);
        command.Parameters.AddWithValue("$value", Db(value));
        command.Parameters.AddWithValue("$threshold", Db(threshold));
        command.Parameters.AddWithValue("$message", message);
        command.Parameters.AddWithValue("$notified", notifiedAt is { } n ? PipelineRuns.Iso(n) : DBNull.Value);
        command.ExecuteNonQuery();
    }

    public static void Resolve(SqliteConnection connection, string alertId, DateTimeOffset at, string message)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE alerts SET state = 'resolved', resolved_at = $at, message = $message WHERE alert_id = $id AND state = 'firing';";
        command.Parameters.AddWithValue("$id", alertId);
        command.Parameters.AddWithValue("$at", PipelineRuns.Iso(at));
        command.Parameters.AddWithValue("$message", message);
        command.ExecuteNonQuery();
    }

    /// <summary>Acknowledges an alert (no more reminders); false when there is no such alert.</summary>
    public static bool Ack(SqliteConnection connection, string alertId, string actor, DateTimeOffset at)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE alerts SET acked_at = COALESCE(acked_at, $at), acked_by = COALESCE(acked_by, $by) WHERE alert_id = $id;";
        command.Parameters.AddWithValue("$id", alertId);
        command.Parameters.AddWithValue("$at", PipelineRuns.Iso(at));
        command.Parameters.AddWithValue("$by", actor);
        return command.ExecuteNonQuery() == 1;
    }

    public static IReadOnlyDictionary<string, long> FiringBySeverity(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT severity, COUNT(*) FROM alerts WHERE state = 'firing' GROUP BY severity;";
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal) { ["info"] = 0, ["warning"] = 0, ["critical"] = 0 };
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    /// <summary>
    /// Whether a reader may see an alert: admins and analysts see all; a scoped reader sees an alert
    /// only when, for every dimension its scope restricts, the alert's rule is narrowed to values
    /// inside it (a country lead's rule on its country; a vendor's stores). Platform-wide alerts
    /// (pipelines, quality, connectors) are for admins and analysts.
    /// </summary>
    public static bool Visible(Alert alert, AccessScope scope)
    {
        if (scope.IsEverything)
        {
            return true;
        }
        var any = false;
        foreach (var dimension in Dimensions.All)
        {
            if (scope.Allowed(dimension) is not { } allowed)
            {
                continue;
            }
            if (!alert.Scope.TryGetValue(Dimensions.Name(dimension), out var values) || values.Count == 0 || values.Any(v => !allowed.Contains(v)))
            {
                return false;
            }
            any = true;
        }
        return any;
    }

    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ScopeOf(DimensionFilter filter) =>
        filter.Values.ToDictionary(kv => Dimensions.Name(kv.Key), kv => kv.Value, StringComparer.Ordinal);

    private static string ScopeJson(IReadOnlyDictionary<string, IReadOnlyList<string>> scope) =>
        JsonSerializer.Serialize(scope.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), AlertsJson.Default.DictionaryStringStringArray);

    private static object Db(double? value) => value is { } v && double.IsFinite(v) ? v : DBNull.Value;

    private static List<Alert> Read(SqliteConnection connection, string where, Action<SqliteCommand> bind, int limit)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT alert_id, rule, subject, severity, state, started_at, resolved_at, value, threshold, scope, message, acked_at, acked_by, last_notified_at
            FROM alerts {where}
            ORDER BY state = 'firing' DESC, started_at DESC, alert_id DESC LIMIT $limit;
            """;
        bind(command);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var alerts = new List<Alert>();
        while (reader.Read())
        {
            var scope = JsonSerializer.Deserialize(reader.GetString(9), AlertsJson.Default.DictionaryStringStringArray) ?? [];
            alerts.Add(new Alert(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                Time(reader.GetString(5)), reader.IsDBNull(6) ? null : Time(reader.GetString(6)),
                reader.IsDBNull(7) ? null : reader.GetDouble(7), reader.IsDBNull(8) ? null : reader.GetDouble(8),
                scope.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal), reader.GetString(10),
                reader.IsDBNull(11) ? null : Time(reader.GetString(11)), reader.IsDBNull(12) ? null : reader.GetString(12),
                reader.IsDBNull(13) ? null : Time(reader.GetString(13))));
        }
        return alerts;
    }

    public static DateTimeOffset Time(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
