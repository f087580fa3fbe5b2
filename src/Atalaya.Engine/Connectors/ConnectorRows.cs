using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Connectors;

/// <summary>The pages a run kept for an account's range of days, and that range.</summary>
public sealed record KeptPages(DateOnly From, DateOnly To, IReadOnlyList<RawPage> Pages);

/// <summary>A dead letter to record: a connector day (account, day, the run whose pages are kept) or a webhook payload (its inbox id).</summary>
public sealed record NewDeadLetter(string Kind, string Provider, string Account, DateOnly? Day, string? RunId, long? WebhookId, string ErrorClass, string Reason);

/// <summary>
/// Where the connectors keep their own state: the raw pages a run fetched (<c>connector_pages</c>,
/// append-only) and the dead letters of connectors and webhooks (<c>dead_letters</c>). In the data
/// folder's SQLite database (<see cref="SqliteConnectorRows"/>) or, on a node started with
/// <c>--postgres</c>, the cluster's PostgreSQL (<see cref="PostgresConnectorRows"/>), so a day
/// dead-lettered on one node is listed and replayed on any other, from the pages the first node
/// kept. Only reaching the database differs; the statements (<see cref="ConnectorRow"/>) are one
/// code path for both.
/// </summary>
public interface IConnectorRows
{
    void KeepPage(string runId, string provider, string account, DateOnly from, DateOnly to, RawPage page, DateTimeOffset now);

    /// <summary>The pages <paramref name="runId"/> kept for the range of <paramref name="account"/> that covers <paramref name="day"/>, in page order; null when none.</summary>
    KeptPages? Pages(string runId, string provider, string account, DateOnly day);

    /// <summary>Records a dead letter; its id.</summary>
    long AddDeadLetter(NewDeadLetter letter, DateTimeOffset now);

    /// <summary>Marks an open dead letter resolved; false when it was not open.</summary>
    bool Resolve(long id, string resolvedBy, DateTimeOffset now);

    /// <summary>Dead letters, oldest first; open ones only unless <paramref name="all"/>.</summary>
    IReadOnlyList<DeadLetter> DeadLetters(string? kind = null, string? provider = null, bool all = false);
}

/// <summary>Opens the connectors' state of a hub or a job.</summary>
public static class ConnectorRows
{
    /// <summary>The cluster's PostgreSQL when given (reaching it may throw <see cref="StateUnavailableException"/>), else the data folder.</summary>
    public static IConnectorRows For(HubDatabase database, PostgresState? shared) =>
        shared is null ? new SqliteConnectorRows(database) : Shared(shared);

    /// <summary>The cluster's, in PostgreSQL (reaching it may throw <see cref="StateUnavailableException"/>).</summary>
    public static IConnectorRows Shared(PostgresState shared) => new PostgresConnectorRows(shared);

    /// <summary>Where a job keeps them: beside its marts (<see cref="MartStore.For(JobContext)"/>), so a unit's facts and the dead letters they resolve commit together.</summary>
    public static IConnectorRows For(JobContext context) => For(context.Database, context.Shared);
}

/// <summary>The connectors' state in the data folder's database (the embedded hub, and a node without <c>--postgres</c>).</summary>
internal sealed class SqliteConnectorRows(HubDatabase database) : IConnectorRows
{
    public void KeepPage(string runId, string provider, string account, DateOnly from, DateOnly to, RawPage page, DateTimeOffset now) =>
        Run(c => ConnectorRow.KeepPage(c, runId, provider, account, from, to, page, now));

    public KeptPages? Pages(string runId, string provider, string account, DateOnly day) => Run(c => ConnectorRow.Pages(c, runId, provider, account, day));

    public long AddDeadLetter(NewDeadLetter letter, DateTimeOffset now) => Run(c => ConnectorRow.AddDeadLetter(c, letter, now));

    public bool Resolve(long id, string resolvedBy, DateTimeOffset now) => Run(c => ConnectorRow.Resolve(c, id, resolvedBy, now));

    public IReadOnlyList<DeadLetter> DeadLetters(string? kind = null, string? provider = null, bool all = false) =>
        Run(c => ConnectorRow.DeadLetters(c, kind, provider, all));

    private T Run<T>(Func<DbConnection, T> work)
    {
        using var connection = database.Connect();
        return work(connection);
    }
}

/// <summary>The connectors' state in a cluster's PostgreSQL, shared by every node; a server that cannot be reached is a <see cref="StateUnavailableException"/>.</summary>
internal sealed class PostgresConnectorRows(PostgresState state) : IConnectorRows
{
    public void KeepPage(string runId, string provider, string account, DateOnly from, DateOnly to, RawPage page, DateTimeOffset now) =>
        state.Run(c => ConnectorRow.KeepPage(c, runId, provider, account, from, to, page, now));

    public KeptPages? Pages(string runId, string provider, string account, DateOnly day) => state.Run(c => ConnectorRow.Pages(c, runId, provider, account, day));

    public long AddDeadLetter(NewDeadLetter letter, DateTimeOffset now) => state.Run(c => ConnectorRow.AddDeadLetter(c, letter, now));

    public bool Resolve(long id, string resolvedBy, DateTimeOffset now) => state.Run(c => ConnectorRow.Resolve(c, id, resolvedBy, now));

    public IReadOnlyList<DeadLetter> DeadLetters(string? kind = null, string? provider = null, bool all = false) =>
        state.Run(c => ConnectorRow.DeadLetters(c, kind, provider, all));
}

/// <summary>
/// The <c>connector_pages</c> and <c>dead_letters</c> statements, the same text on SQLite and
/// PostgreSQL: the tables have the same columns in both (days as yyyy-MM-dd and times as ISO 8601
/// UTC text, which sort as time), and both take <c>@name</c> parameters.
/// </summary>
internal static class ConnectorRow
{
    public static int KeepPage(DbConnection connection, string runId, string provider, string account, DateOnly from, DateOnly to, RawPage page, DateTimeOffset now)
    {
        using var command = PortableSql.Command(connection, """
            INSERT INTO connector_pages (run_id, provider, account, from_day, to_day, page_no, fetched_at, http_status, request, content_type, body)
            VALUES (@run, @provider, @account, @from, @to, @page, @at, @status, @request, @type, @body);
            """, ("run", runId), ("provider", provider), ("account", account), ("from", ConnectorStore.Day(from)), ("to", ConnectorStore.Day(to)),
            ("page", page.PageNo), ("at", PipelineRuns.Iso(now)), ("status", page.HttpStatus), ("request", page.Request), ("type", page.ContentType),
            ("body", page.Body));
        return command.ExecuteNonQuery();
    }

    public static KeptPages? Pages(DbConnection connection, string runId, string provider, string account, DateOnly day)
    {
        using var command = PortableSql.Command(connection, """
            SELECT from_day, to_day, page_no, http_status, request, content_type, body FROM connector_pages
            WHERE run_id = @run AND provider = @provider AND account = @account AND from_day <= @day AND to_day >= @day
            ORDER BY page_no, page_id;
            """, ("run", runId), ("provider", provider), ("account", account), ("day", ConnectorStore.Day(day)));
        using var reader = command.ExecuteReader();
        var pages = new List<RawPage>();
        (DateOnly, DateOnly)? range = null;
        while (reader.Read())
        {
            range ??= (ConnectorStore.ParseDay(reader.GetString(0)), ConnectorStore.ParseDay(reader.GetString(1)));
            pages.Add(new RawPage(reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), (byte[])reader.GetValue(6)));
        }
        return range is { } r ? new KeptPages(r.Item1, r.Item2, pages) : null;
    }

    public static long AddDeadLetter(DbConnection connection, NewDeadLetter letter, DateTimeOffset now)
    {
        using var command = PortableSql.Command(connection, """
            INSERT INTO dead_letters (kind, provider, account, day, run_id, webhook_id, error_class, reason, created_at)
            VALUES (@kind, @provider, @account, @day, @run, @webhook, @class, @reason, @at) RETURNING id;
            """, ("kind", letter.Kind), ("provider", letter.Provider), ("account", letter.Account), ("day", letter.Day is { } d ? ConnectorStore.Day(d) : null),
            ("run", letter.RunId), ("class", letter.ErrorClass), ("reason", letter.Reason), ("at", PipelineRuns.Iso(now)));
        // A missing inbox id is left for PostgreSQL to type from its column (bigint, not text).
        PortableSql.Add(command, "@webhook", letter.WebhookId);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Marks the open connector dead letters of a day resolved by the run that wrote it, inside the transaction that writes the day's facts.</summary>
    public static int ResolveDay(DbConnection connection, DbTransaction transaction, string provider, string account, DateOnly day, string resolvedBy, DateTimeOffset now)
    {
        using var command = PortableSql.Command(connection, """
            UPDATE dead_letters SET resolved_at = @at, resolved_by = @by
            WHERE kind = 'connector' AND provider = @provider AND account = @account AND day = @day AND resolved_at IS NULL;
            """, ("at", PipelineRuns.Iso(now)), ("by", resolvedBy), ("provider", provider), ("account", account), ("day", ConnectorStore.Day(day)));
        command.Transaction = transaction;
        return command.ExecuteNonQuery();
    }

    public static bool Resolve(DbConnection connection, long id, string resolvedBy, DateTimeOffset now)
    {
        using var command = PortableSql.Command(connection, "UPDATE dead_letters SET resolved_at = @at, resolved_by = @by WHERE id = @id AND resolved_at IS NULL;",
            ("at", PipelineRuns.Iso(now)), ("by", resolvedBy), ("id", id));
        return command.ExecuteNonQuery() == 1;
    }

    public static List<DeadLetter> DeadLetters(DbConnection connection, string? kind, string? provider, bool all)
    {
        var where = new List<string>();
        var values = new List<(string, object?)>();
        if (!all)
        {
            where.Add("resolved_at IS NULL");
        }
        if (kind is not null)
        {
            where.Add("kind = @kind");
            values.Add(("kind", kind));
        }
        if (provider is not null)
        {
            where.Add("provider = @provider");
            values.Add(("provider", provider));
        }
        using var command = PortableSql.Command(connection, $"""
            SELECT id, kind, provider, account, day, run_id, webhook_id, error_class, reason, created_at, resolved_at, resolved_by
            FROM dead_letters {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY id;
            """, values);
        using var reader = command.ExecuteReader();
        var letters = new List<DeadLetter>();
        while (reader.Read())
        {
            letters.Add(new DeadLetter(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : ConnectorStore.ParseDay(reader.GetString(4)), reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetInt64(6), reader.GetString(7), reader.GetString(8), Time(reader.GetString(9)),
                reader.IsDBNull(10) ? null : Time(reader.GetString(10)), reader.IsDBNull(11) ? null : reader.GetString(11)));
        }
        return letters;
    }

    private static DateTimeOffset Time(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
