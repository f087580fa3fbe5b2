using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Webhooks;

/// <summary>A body in the inbox: its id, and whether this call stored it or found it stored by an earlier delivery, in which state.</summary>
public sealed record StoredWebhook(long Id, bool New, string Status);

/// <summary>
/// Where signed webhook bodies are kept (<c>webhook_inbox</c>, append-only), committed before the
/// provider is answered: the data folder's SQLite database (<see cref="SqliteWebhookInbox"/>) or, on
/// a node started with <c>--postgres</c>, the cluster's PostgreSQL (<see cref="PostgresWebhookInbox"/>),
/// so a signature is accepted once across every node and a body one node took can be replayed on
/// any other. Only reaching the database differs; the statements (<see cref="WebhookInboxRow"/>)
/// are one code path for both.
/// </summary>
public interface IWebhookInbox
{
    /// <summary>Stores a body, or finds the one an earlier delivery of the same signature stored.</summary>
    StoredWebhook Store(string provider, long signedAt, string signature, byte[] body, DateTimeOffset now);

    /// <summary>What a stored body became: mapped (with its events) or dead (a dead letter).</summary>
    void SetState(long id, string status, int events);

    /// <summary>A stored body; null for an unknown id.</summary>
    byte[]? Body(long id);
}

/// <summary>Opens the webhook inbox of a hub.</summary>
public static class WebhookInbox
{
    /// <summary>The cluster's PostgreSQL when given (reaching it may throw <see cref="StateUnavailableException"/>), else the data folder.</summary>
    public static IWebhookInbox For(HubDatabase database, PostgresState? shared) =>
        shared is null ? new SqliteWebhookInbox(database) : new PostgresWebhookInbox(shared);
}

/// <summary>The inbox in the data folder's database (the embedded hub, and a node without <c>--postgres</c>).</summary>
internal sealed class SqliteWebhookInbox(HubDatabase database) : IWebhookInbox
{
    public StoredWebhook Store(string provider, long signedAt, string signature, byte[] body, DateTimeOffset now) =>
        Run(c => WebhookInboxRow.Store(c, provider, signedAt, signature, body, now));

    public void SetState(long id, string status, int events) => Run(c => WebhookInboxRow.SetState(c, id, status, events));

    public byte[]? Body(long id) => Run(c => WebhookInboxRow.Body(c, id));

    private T Run<T>(Func<DbConnection, T> work)
    {
        using var connection = database.Connect();
        return work(connection);
    }
}

/// <summary>The inbox in a cluster's PostgreSQL, shared by every node; a server that cannot be reached is a <see cref="StateUnavailableException"/>.</summary>
internal sealed class PostgresWebhookInbox(PostgresState state) : IWebhookInbox
{
    public StoredWebhook Store(string provider, long signedAt, string signature, byte[] body, DateTimeOffset now) =>
        state.Run(c => WebhookInboxRow.Store(c, provider, signedAt, signature, body, now));

    public void SetState(long id, string status, int events) => state.Run(c => WebhookInboxRow.SetState(c, id, status, events));

    public byte[]? Body(long id) => state.Run(c => WebhookInboxRow.Body(c, id));
}

/// <summary>The <c>webhook_inbox</c> statements, the same text on SQLite and PostgreSQL (same columns, <c>@name</c> parameters).</summary>
internal static class WebhookInboxRow
{
    public static StoredWebhook Store(DbConnection connection, string provider, long signedAt, string signature, byte[] body, DateTimeOffset now)
    {
        using (var insert = PortableSql.Command(connection, """
            INSERT INTO webhook_inbox (provider, received_at, signed_at, signature, body, status) VALUES (@provider, @at, @signed, @signature, @body, 'stored')
            ON CONFLICT (provider, signature) DO NOTHING RETURNING id;
            """, ("provider", provider), ("at", PipelineRuns.Iso(now)), ("signed", signedAt), ("signature", signature), ("body", body)))
        {
            if (insert.ExecuteScalar() is { } id and not DBNull)
            {
                return new StoredWebhook(Convert.ToInt64(id, CultureInfo.InvariantCulture), true, "stored");
            }
        }
        using var select = PortableSql.Command(connection, "SELECT id, status FROM webhook_inbox WHERE provider = @provider AND signature = @signature;",
            ("provider", provider), ("signature", signature));
        using var reader = select.ExecuteReader();
        reader.Read();
        return new StoredWebhook(reader.GetInt64(0), false, reader.GetString(1));
    }

    public static int SetState(DbConnection connection, long id, string status, int events)
    {
        using var command = PortableSql.Command(connection, "UPDATE webhook_inbox SET status = @status, events = @events WHERE id = @id;",
            ("status", status), ("events", events), ("id", id));
        return command.ExecuteNonQuery();
    }

    public static byte[]? Body(DbConnection connection, long id)
    {
        using var command = PortableSql.Command(connection, "SELECT body FROM webhook_inbox WHERE id = @id;", ("id", id));
        return command.ExecuteScalar() as byte[];
    }
}
