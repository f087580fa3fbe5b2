using System.Text.Json;
using Atalaya.Engine.Jobs;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>One message in the outbox: pending (not yet delivered), sent, or dead (delivery gave up; replay sends it again).</summary>
public sealed record OutboxEntry(long Id, string Channel, string? AlertId, Notification Notification, DateTimeOffset CreatedAt, string State, int Attempts, string? LastError);

/// <summary>
/// The <c>notification_outbox</c> table. A message is written before anyone tries to send it, in the
/// same transaction as the alert change that caused it, so neither a crash nor a kill -9 loses it:
/// pending messages are sent on the next cycle or start.
/// </summary>
public static class NotificationOutbox
{
    public static long Enqueue(SqliteConnection connection, string channel, Notification notification, DateTimeOffset now, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO notification_outbox (channel, alert_id, notification, created_at, state)
            VALUES ($channel, $alert, $notification, $at, 'pending') RETURNING id;
            """;
        command.Parameters.AddWithValue("$channel", channel);
        command.Parameters.AddWithValue("$alert", (object?)notification.AlertId ?? DBNull.Value);
        command.Parameters.AddWithValue("$notification", JsonSerializer.Serialize(notification, AlertsJson.Default.Notification));
        command.Parameters.AddWithValue("$at", PipelineRuns.Iso(now));
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static IReadOnlyList<OutboxEntry> List(SqliteConnection connection, string state, int limit = 10_000)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, channel, alert_id, notification, created_at, state, attempts, last_error
            FROM notification_outbox WHERE state = $state ORDER BY id LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$state", state);
        command.Parameters.AddWithValue("$limit", limit);
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

    public static long Count(SqliteConnection connection, string state)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM notification_outbox WHERE state = $state;";
        command.Parameters.AddWithValue("$state", state);
        return (long)command.ExecuteScalar()!;
    }

    public static void MarkSent(SqliteConnection connection, long id, int attempts, DateTimeOffset at) =>
        Set(connection, id, "sent", attempts, null, at);

    public static void MarkDead(SqliteConnection connection, long id, int attempts, string error) =>
        Set(connection, id, "dead", attempts, error, null);

    /// <summary>Dead messages back to pending (all, or one channel's); how many.</summary>
    public static int Requeue(SqliteConnection connection, string? channel)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE notification_outbox SET state = 'pending' WHERE state = 'dead' AND ($channel IS NULL OR channel = $channel);";
        command.Parameters.AddWithValue("$channel", (object?)channel ?? DBNull.Value);
        return command.ExecuteNonQuery();
    }

    private static void Set(SqliteConnection connection, long id, string state, int attempts, string? error, DateTimeOffset? sentAt)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE notification_outbox SET state = $state, attempts = attempts + $attempts, last_error = $error, sent_at = $sent WHERE id = $id;
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$state", state);
        command.Parameters.AddWithValue("$attempts", attempts);
        command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        command.Parameters.AddWithValue("$sent", sentAt is { } s ? PipelineRuns.Iso(s) : DBNull.Value);
        command.ExecuteNonQuery();
    }
}
