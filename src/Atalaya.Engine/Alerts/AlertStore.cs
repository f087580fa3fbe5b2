using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi.Query;

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
/// The <c>alerts</c> table's statements, the same text on the data folder's SQLite and a cluster's
/// PostgreSQL (<see cref="IAlertRows"/>): the columns are the same in both, times as ISO 8601 UTC
/// text (which sorts as time), and both take <c>@name</c> parameters. At most one firing row per
/// (rule, subject) — a unique partial index holds it even if two evaluations raced — so an alert
/// fires once and later cycles update it.
/// </summary>
public static class AlertStore
{
    public static string NewAlertId(DateTimeOffset now) =>
        $"alr_{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}_{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";

    public static IReadOnlyList<Alert> Firing(DbConnection connection, DbTransaction? transaction = null) =>
        Read(connection, transaction, "WHERE state = 'firing'", [], int.MaxValue);

    public static Alert? Get(DbConnection connection, string alertId) =>
        Read(connection, null, "WHERE alert_id = @id", [Text("id", alertId)], 1).FirstOrDefault();

    /// <summary>Newest first: every firing alert, then resolved ones, up to <paramref name="limit"/>.</summary>
    public static IReadOnlyList<Alert> Recent(DbConnection connection, string? state, int limit) =>
        Read(connection, null, state is null ? "" : "WHERE state = @state", state is null ? [] : [Text("state", state)], limit);

    public static void Insert(DbConnection connection, Alert a, DbTransaction? transaction = null) => Execute(connection, transaction, """
        INSERT INTO alerts (alert_id, rule, subject, severity, state, started_at, value, threshold, scope, message, last_notified_at)
        VALUES (@id, @rule, @subject, @severity, 'firing', @started, @value, @threshold, @scope, @message, @notified);
        """, Text("id", a.AlertId), Text("rule", a.Rule), Text("subject", a.Subject), Text("severity", a.Severity),
        Text("started", PipelineRuns.Iso(a.StartedAt)), Real("value", a.Value), Real("threshold", a.Threshold), Text("scope", ScopeJson(a.Scope)),
        Text("message", a.Message), Text("notified", Iso(a.LastNotifiedAt)));

    /// <summary>A firing alert's latest value and message (and when it was last sent, if it was sent again).</summary>
    public static void Update(DbConnection connection, string alertId, double? value, double? threshold, string message, DateTimeOffset? notifiedAt,
        DbTransaction? transaction = null) => Execute(connection, transaction, """
        UPDATE alerts SET value = @value, threshold = @threshold, message = @message,
            last_notified_at = COALESCE(@notified, last_notified_at)
        WHERE alert_id = @id;
        """, Text("id", alertId), Real("value", value), Real("threshold", threshold), Text("message", message), Text("notified", Iso(notifiedAt)));

    public static void Resolve(DbConnection connection, string alertId, DateTimeOffset at, string message, DbTransaction? transaction = null) =>
        Execute(connection, transaction, "UPDATE alerts SET state = 'resolved', resolved_at = @at, message = @message WHERE alert_id = @id AND state = 'firing';",
            Text("id", alertId), Text("at", PipelineRuns.Iso(at)), Text("message", message));

    /// <summary>Acknowledges an alert (no more reminders); false when there is no such alert.</summary>
    public static bool Ack(DbConnection connection, string alertId, string actor, DateTimeOffset at) =>
        Execute(connection, null, "UPDATE alerts SET acked_at = COALESCE(acked_at, @at), acked_by = COALESCE(acked_by, @by) WHERE alert_id = @id;",
            Text("id", alertId), Text("at", PipelineRuns.Iso(at)), Text("by", actor)) == 1;

    public static IReadOnlyDictionary<string, long> FiringBySeverity(DbConnection connection)
    {
        using var command = Command(connection, null, "SELECT severity, COUNT(*) FROM alerts WHERE state = 'firing' GROUP BY severity;", []);
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal) { ["info"] = 0, ["warning"] = 0, ["critical"] = 0 };
        while (reader.Read())
        {
            counts[reader.GetString(0)] = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
        }
        return counts;
    }

    /// <summary>
    /// One evaluation's writes, inside the caller's transaction: the firing alerts are read, the
    /// plan decides, and its alert changes and outbox messages are written together (neither a
    /// crash nor a kill -9 keeps one without the other).
    /// </summary>
    public static void Apply(DbConnection connection, DbTransaction transaction, Func<IReadOnlyList<Alert>, AlertChanges> plan)
    {
        var changes = plan(Firing(connection, transaction));
        foreach (var u in changes.Updated)
        {
            Update(connection, u.AlertId, u.Value, u.Threshold, u.Message, u.NotifiedAt, transaction);
        }
        foreach (var (alertId, message) in changes.Resolved)
        {
            Resolve(connection, alertId, changes.At, message, transaction);
        }
        foreach (var alert in changes.Fired)
        {
            Insert(connection, alert, transaction);
        }
        foreach (var (channel, notification) in changes.Messages)
        {
            Notifications.NotificationOutbox.Enqueue(connection, channel, notification, changes.At, transaction);
        }
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

    private static List<Alert> Read(DbConnection connection, DbTransaction? transaction, string where, DbValue[] values, int limit)
    {
        using var command = Command(connection, transaction, $"""
            SELECT alert_id, rule, subject, severity, state, started_at, resolved_at, value, threshold, scope, message, acked_at, acked_by, last_notified_at
            FROM alerts {where}
            ORDER BY state = 'firing' DESC, started_at DESC, alert_id DESC LIMIT @limit;
            """, [.. values, new DbValue("limit", limit, DbType.Int32)]);
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

    internal static DbValue Text(string name, string? value) => new(name, value, DbType.String);

    private static DbValue Real(string name, double? value) => new(name, value is { } v && double.IsFinite(v) ? v : null, DbType.Double);

    private static string? Iso(DateTimeOffset? at) => at is { } t ? PipelineRuns.Iso(t) : null;

    internal static int Execute(DbConnection connection, DbTransaction? transaction, string sql, params DbValue[] values)
    {
        using var command = Command(connection, transaction, sql, values);
        return command.ExecuteNonQuery();
    }

    /// <summary>A command with typed parameters: PostgreSQL wants to know a null's type (SQLite does not mind).</summary>
    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, IEnumerable<DbValue> values)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var value in values)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + value.Name;
            parameter.DbType = value.Type;
            parameter.Value = value.Value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }
}

/// <summary>One statement parameter: its name (without @), value (null for NULL) and type.</summary>
internal readonly record struct DbValue(string Name, object? Value, DbType Type);

/// <summary>
/// What one evaluation cycle writes (<see cref="AlertStore.Apply"/>): alerts fired, updated and
/// resolved at <see cref="At"/>, and the notifications those changes cause.
/// </summary>
public sealed record AlertChanges(
    DateTimeOffset At, IReadOnlyList<Alert> Fired, IReadOnlyList<AlertUpdate> Updated, IReadOnlyList<(string AlertId, string Message)> Resolved,
    IReadOnlyList<(string Channel, Notification Notification)> Messages);

/// <summary>A firing alert's latest measurement; <see cref="NotifiedAt"/> when it was sent again this cycle.</summary>
public sealed record AlertUpdate(string AlertId, double? Value, double? Threshold, string Message, DateTimeOffset? NotifiedAt);
