using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Postgres;
using Npgsql;

namespace Atalaya.Engine.Alerts;

/// <summary>
/// Alerts and outbox in a cluster's PostgreSQL (<c>--postgres</c>): every node reads and
/// acknowledges the same alerts, and whichever node evaluates continues the episodes it finds
/// firing and sends the pending messages. A server that cannot be reached is a
/// <see cref="StateUnavailableException"/> (503 with Retry-After on the API; the alert cycle fails
/// and is tried again on the next one).
/// </summary>
internal sealed class PostgresAlertRows(PostgresState postgres) : IAlertRows
{
    /// <summary>
    /// The advisory lock an evaluation holds until it commits ("alertrw" in ASCII; any fixed number
    /// would do): one node evaluates at a time anyway (<see cref="AlertEvaluatorLock"/>), but a node
    /// whose session was just cut may still be finishing a cycle as the next one starts.
    /// </summary>
    internal const long ApplyLock = 0x61_6c_65_72_74_72_77;

    public IReadOnlyList<Alert> Recent(string? state, int limit) => postgres.Run(c => AlertStore.Recent(c, state, limit));

    public Alert? Get(string alertId) => postgres.Run(c => AlertStore.Get(c, alertId));

    public bool Ack(string alertId, string actor, DateTimeOffset at) => postgres.Run(c => AlertStore.Ack(c, alertId, actor, at));

    public IReadOnlyDictionary<string, long> FiringBySeverity() => postgres.Run(AlertStore.FiringBySeverity);

    public void Apply(Func<IReadOnlyList<Alert>, AlertChanges> plan) => postgres.Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        using (var take = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({ApplyLock});", connection, transaction))
        {
            take.ExecuteNonQuery();
        }
        AlertStore.Apply(connection, transaction, plan);
        transaction.Commit();
        return 0;
    });

    public void Enqueue(IReadOnlyList<(string Channel, Notification Notification)> messages, DateTimeOffset now) => postgres.Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        foreach (var (channel, notification) in messages)
        {
            NotificationOutbox.Enqueue(connection, channel, notification, now, transaction);
        }
        transaction.Commit();
        return 0;
    });

    public IReadOnlyList<OutboxEntry> Outbox(string state, int limit = 10_000) => postgres.Run(c => NotificationOutbox.List(c, state, limit));

    public long OutboxCount(string state) => postgres.Run(c => NotificationOutbox.Count(c, state));

    public void MarkSent(long id, int attempts, DateTimeOffset at) => postgres.Run(c =>
    {
        NotificationOutbox.MarkSent(c, id, attempts, at);
        return 0;
    });

    public void MarkDead(long id, int attempts, string error) => postgres.Run(c =>
    {
        NotificationOutbox.MarkDead(c, id, attempts, error);
        return 0;
    });

    public int Requeue(string? channel) => postgres.Run(c => NotificationOutbox.Requeue(c, channel));
}
