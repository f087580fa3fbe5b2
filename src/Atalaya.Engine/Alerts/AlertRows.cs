using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Alerts;

/// <summary>
/// Where the alerts and the notification outbox live: the data folder's SQLite database
/// (<see cref="SqliteAlertRows"/>), or a cluster's PostgreSQL, shared by every node
/// (<see cref="PostgresAlertRows"/>), so every node lists and acknowledges the same alerts and a
/// node that takes the evaluation over continues the episodes it finds firing. Only reaching the
/// database differs: the statements (<see cref="AlertStore"/>, <see cref="NotificationOutbox"/>)
/// and the logic (<see cref="AlertEngine"/>, <see cref="NotificationDispatcher"/>) are one code
/// path for both. On PostgreSQL a server that cannot be reached is a
/// <see cref="Postgres.StateUnavailableException"/>.
/// </summary>
public interface IAlertRows
{
    /// <summary>Newest first: every firing alert, then resolved ones, up to <paramref name="limit"/>.</summary>
    IReadOnlyList<Alert> Recent(string? state, int limit);

    Alert? Get(string alertId);

    /// <summary>Acknowledges an alert (no more reminders); false when there is no such alert.</summary>
    bool Ack(string alertId, string actor, DateTimeOffset at);

    IReadOnlyDictionary<string, long> FiringBySeverity();

    /// <summary>
    /// One evaluation in one transaction: the firing alerts are read, <paramref name="plan"/>
    /// decides, and its alert changes and outbox messages are committed together. Another
    /// evaluation of the same rows (another node) waits for the commit.
    /// </summary>
    void Apply(Func<IReadOnlyList<Alert>, AlertChanges> plan);

    /// <summary>Queues messages (not alerts: a report's, say) in one transaction.</summary>
    void Enqueue(IReadOnlyList<(string Channel, Notification Notification)> messages, DateTimeOffset now);

    /// <summary>The outbox's messages in a state (pending, sent, dead), oldest first.</summary>
    IReadOnlyList<OutboxEntry> Outbox(string state, int limit = 10_000);

    long OutboxCount(string state);

    void MarkSent(long id, int attempts, DateTimeOffset at);

    void MarkDead(long id, int attempts, string error);

    /// <summary>Dead messages back to pending (all, or one channel's); how many.</summary>
    int Requeue(string? channel);
}

/// <summary>Which <see cref="IAlertRows"/> a hub or a command works on.</summary>
public static class AlertRows
{
    /// <summary>The cluster's in PostgreSQL when given one (<c>--postgres</c>), the data folder's otherwise.</summary>
    public static IAlertRows Of(HubDatabase database, Postgres.PostgresState? postgres) =>
        postgres is null ? new SqliteAlertRows(database) : new PostgresAlertRows(postgres);
}

/// <summary>Alerts and outbox in the data folder's database (the embedded hub, and a node without <c>--postgres</c>).</summary>
internal sealed class SqliteAlertRows(HubDatabase database) : IAlertRows
{
    public IReadOnlyList<Alert> Recent(string? state, int limit)
    {
        using var connection = database.Connect();
        return AlertStore.Recent(connection, state, limit);
    }

    public Alert? Get(string alertId)
    {
        using var connection = database.Connect();
        return AlertStore.Get(connection, alertId);
    }

    public bool Ack(string alertId, string actor, DateTimeOffset at)
    {
        using var connection = database.Connect();
        return AlertStore.Ack(connection, alertId, actor, at);
    }

    public IReadOnlyDictionary<string, long> FiringBySeverity()
    {
        using var connection = database.Connect();
        return AlertStore.FiringBySeverity(connection);
    }

    public void Apply(Func<IReadOnlyList<Alert>, AlertChanges> plan)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        AlertStore.Apply(connection, transaction, plan);
        transaction.Commit();
    }

    public void Enqueue(IReadOnlyList<(string Channel, Notification Notification)> messages, DateTimeOffset now)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        foreach (var (channel, notification) in messages)
        {
            NotificationOutbox.Enqueue(connection, channel, notification, now, transaction);
        }
        transaction.Commit();
    }

    public IReadOnlyList<OutboxEntry> Outbox(string state, int limit = 10_000)
    {
        using var connection = database.Connect();
        return NotificationOutbox.List(connection, state, limit);
    }

    public long OutboxCount(string state)
    {
        using var connection = database.Connect();
        return NotificationOutbox.Count(connection, state);
    }

    public void MarkSent(long id, int attempts, DateTimeOffset at)
    {
        using var connection = database.Connect();
        NotificationOutbox.MarkSent(connection, id, attempts, at);
    }

    public void MarkDead(long id, int attempts, string error)
    {
        using var connection = database.Connect();
        NotificationOutbox.MarkDead(connection, id, attempts, error);
    }

    public int Requeue(string? channel)
    {
        using var connection = database.Connect();
        return NotificationOutbox.Requeue(connection, channel);
    }
}
