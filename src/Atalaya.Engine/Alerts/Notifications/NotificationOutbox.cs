using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Atalaya.Engine.Jobs;

namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>One message in the outbox: pending (not yet delivered), sent, or dead (delivery gave up; replay sends it again).</summary>
public sealed record OutboxEntry(long Id, string Channel, string? AlertId, Notification Notification, DateTimeOffset CreatedAt, string State, int Attempts, string? LastError);

/// <summary>
/// The <c>notification_outbox</c> table's statements, the same text on SQLite and PostgreSQL
/// (<see cref="IAlertRows"/>). A message is written before anyone tries to send it, in the same
/// transaction as the alert change that caused it, so neither a crash nor a kill -9 loses it:
/// pending messages are sent on the next cycle or start.
/// </summary>
public static class NotificationOutbox
{
    public static long Enqueue(DbConnection connection, string channel, Notification notification, DateTimeOffset now, DbTransaction? transaction = null)
    {
        using var command = AlertStore.Command(connection, transaction, """
            INSERT INTO notification_outbox (channel, alert_id, notification, created_at, state)
            VALUES (@channel, @alert, @notification, @at, 'pending') RETURNING id;
            """, [AlertStore.Text("channel", channel), AlertStore.Text("alert", notification.AlertId),
                AlertStore.Text("notification", JsonSerializer.Serialize(notification, AlertsJson.Default.Notification)), AlertStore.Text("at", PipelineRuns.Iso(now))]);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public static IReadOnlyList<OutboxEntry> List(DbConnection connection, string state, int limit = 10_000)
    {
        using var command = AlertStore.Command(connection, null, """
            SELECT id, channel, alert_id, notification, created_at, state, attempts, last_error
            FROM notification_outbox WHERE state = @state ORDER BY id LIMIT @limit;
            """, [AlertStore.Text("state", state), new DbValue("limit", limit, DbType.Int32)]);
        using var reader = command.ExecuteReader();
        var entries = new List<OutboxEntry>();
        while (reader.Read())
        {
            entries.Add(new OutboxEntry(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                JsonSerializer.Deserialize(reader.GetString(3), AlertsJson.Default.Notification)!, AlertStore.Time(reader.GetString(4)),
                reader.GetString(5), reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
        }
        return entries;
    }

    public static long Count(DbConnection connection, string state)
    {
        using var command = AlertStore.Command(connection, null, "SELECT COUNT(*) FROM notification_outbox WHERE state = @state;", [AlertStore.Text("state", state)]);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public static void MarkSent(DbConnection connection, long id, int attempts, DateTimeOffset at) =>
        Set(connection, id, "sent", attempts, null, at);

    public static void MarkDead(DbConnection connection, long id, int attempts, string error) =>
        Set(connection, id, "dead", attempts, error, null);

    /// <summary>Dead messages back to pending (all, or one channel's); how many.</summary>
    public static int Requeue(DbConnection connection, string? channel) => AlertStore.Execute(connection, null,
        "UPDATE notification_outbox SET state = 'pending' WHERE state = 'dead' AND (@channel IS NULL OR channel = @channel);",
        AlertStore.Text("channel", channel));

    private static void Set(DbConnection connection, long id, string state, int attempts, string? error, DateTimeOffset? sentAt) =>
        AlertStore.Execute(connection, null, """
            UPDATE notification_outbox SET state = @state, attempts = attempts + @attempts, last_error = @error, sent_at = @sent WHERE id = @id;
            """, new DbValue("id", id, DbType.Int64), AlertStore.Text("state", state), new DbValue("attempts", attempts, DbType.Int32),
            AlertStore.Text("error", error), AlertStore.Text("sent", sentAt is { } s ? PipelineRuns.Iso(s) : null));
}
