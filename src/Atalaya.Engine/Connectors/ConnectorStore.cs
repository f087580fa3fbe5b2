using System.Data;
using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Connectors;

/// <summary>An open or resolved dead letter: a connector day or a webhook payload that could not be processed.</summary>
public sealed record DeadLetter(long Id, string Kind, string Provider, string Account, DateOnly? Day, string? RunId, long? WebhookId,
    string ErrorClass, string Reason, DateTimeOffset CreatedAt, DateTimeOffset? ResolvedAt, string? ResolvedBy);

/// <summary>
/// The connectors' tables: raw pages (append-only, written before they are parsed), the facts they
/// become in <c>fact_kpi_daily</c> (one transaction per unit: a day is all written or not at all),
/// the dead letters and the run's error class.
/// </summary>
public static class ConnectorStore
{
    internal static void KeepPage(SqliteConnection connection, string runId, string provider, FetchUnit unit, RawPage page, DateTimeOffset now)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO connector_pages (run_id, provider, account, from_day, to_day, page_no, fetched_at, http_status, request, content_type, body)
            VALUES ($run, $provider, $account, $from, $to, $page, $at, $status, $request, $type, $body);
            """;
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$provider", provider);
        command.Parameters.AddWithValue("$account", unit.Account);
        command.Parameters.AddWithValue("$from", Day(unit.From));
        command.Parameters.AddWithValue("$to", Day(unit.To));
        command.Parameters.AddWithValue("$page", page.PageNo);
        command.Parameters.AddWithValue("$at", PipelineRuns.Iso(now));
        command.Parameters.AddWithValue("$status", page.HttpStatus);
        command.Parameters.AddWithValue("$request", page.Request);
        command.Parameters.AddWithValue("$type", (object?)page.ContentType ?? DBNull.Value);
        command.Parameters.AddWithValue("$body", page.Body);
        command.ExecuteNonQuery();
    }

    /// <summary>The pages a run kept for an account's range that covers <paramref name="day"/>, and that range.</summary>
    internal static (DateOnly From, DateOnly To, List<RawPage> Pages)? Pages(SqliteConnection connection, string runId, string provider, string account, DateOnly day)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT from_day, to_day, page_no, http_status, request, content_type, body FROM connector_pages
            WHERE run_id = $run AND provider = $provider AND account = $account AND from_day <= $day AND to_day >= $day
            ORDER BY page_no;
            """;
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$provider", provider);
        command.Parameters.AddWithValue("$account", account);
        command.Parameters.AddWithValue("$day", Day(day));
        using var reader = command.ExecuteReader();
        var pages = new List<RawPage>();
        (DateOnly, DateOnly)? range = null;
        while (reader.Read())
        {
            range ??= (ParseDay(reader.GetString(0)), ParseDay(reader.GetString(1)));
            pages.Add(new RawPage(reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), (byte[])reader.GetValue(6)));
        }
        return range is { } r ? (r.Item1, r.Item2, pages) : null;
    }

    /// <summary>
    /// Writes one day of one provider's apps with MERGE semantics: new keys inserted, changed values
    /// updated (an unchanged row keeps the run that wrote it), metrics the provider no longer sends
    /// for that day deleted. Returns the rows inserted, changed or deleted. Inside the caller's
    /// transaction, wherever the marts are (<see cref="MartStore"/>).
    /// </summary>
    internal static long WriteDay(MartStore marts, DbConnection connection, DbTransaction transaction, string provider, DateOnly day,
        IReadOnlyList<AppTarget> apps, IReadOnlyList<FactRow> rows, Func<string, int> kpiVersion, string runId)
    {
        long written = 0;
        using (var upsert = connection.CreateCommand())
        {
            upsert.Transaction = transaction;
            upsert.CommandText = $"""
                INSERT INTO fact_kpi_daily (date, app_id, platform, source_system, metric, value, kpi_version, run_id, currency)
                VALUES (@date, @app, @platform, @source, @metric, @value, @version, @run, @currency)
                ON CONFLICT (date, app_id, platform, source_system, metric) DO UPDATE SET
                    value = excluded.value, kpi_version = excluded.kpi_version, run_id = excluded.run_id, currency = excluded.currency
                WHERE (fact_kpi_daily.value, fact_kpi_daily.kpi_version, fact_kpi_daily.currency) {marts.IsDistinctFrom} (excluded.value, excluded.kpi_version, excluded.currency);
                """;
            foreach (var row in rows)
            {
                upsert.Parameters.Clear();
                PortableSql.Add(upsert, "@date", Day(day));
                PortableSql.Add(upsert, "@app", row.AppId);
                PortableSql.Add(upsert, "@platform", row.Platform);
                PortableSql.Add(upsert, "@source", provider);
                PortableSql.Add(upsert, "@metric", row.Metric);
                PortableSql.Add(upsert, "@value", row.Value);
                PortableSql.Add(upsert, "@version", (long)kpiVersion(row.Metric));
                PortableSql.Add(upsert, "@run", runId);
                PortableSql.Add(upsert, "@currency", row.Currency);
                // A NULL currency is still text (PostgreSQL must know a parameter's type).
                upsert.Parameters["@currency"].DbType = DbType.String;
                written += upsert.ExecuteNonQuery();
            }
        }
        var kept = new HashSet<(string, string, string)>(rows.Select(r => (r.AppId, r.Platform, r.Metric)));
        var stale = new List<(string App, string Platform, string Metric)>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT app_id, platform, metric FROM fact_kpi_daily WHERE date = @date AND source_system = @source;";
            PortableSql.Add(select, "@date", Day(day));
            PortableSql.Add(select, "@source", provider);
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                var key = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
                if (apps.Any(a => a.AppId == key.Item1) && !kept.Contains(key))
                {
                    stale.Add(key);
                }
            }
        }
        foreach (var (app, platform, metric) in stale)
        {
            using var delete = connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM fact_kpi_daily WHERE date = @date AND app_id = @app AND platform = @platform AND source_system = @source AND metric = @metric;";
            PortableSql.Add(delete, "@date", Day(day));
            PortableSql.Add(delete, "@app", app);
            PortableSql.Add(delete, "@platform", platform);
            PortableSql.Add(delete, "@source", provider);
            PortableSql.Add(delete, "@metric", metric);
            written += delete.ExecuteNonQuery();
        }
        return written;
    }

    /// <summary>The values of a metric on the days before <paramref name="day"/> (for the spike check).</summary>
    internal static List<double> History(MartStore marts, string provider, string appId, string metric, DateOnly day, int days) => marts.Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT value FROM fact_kpi_daily
            WHERE source_system = @source AND app_id = @app AND metric = @metric AND date >= @from AND date < @day AND value IS NOT NULL;
            """;
        PortableSql.Add(command, "@source", provider);
        PortableSql.Add(command, "@app", appId);
        PortableSql.Add(command, "@metric", metric);
        PortableSql.Add(command, "@from", Day(day.AddDays(-days)));
        PortableSql.Add(command, "@day", Day(day));
        using var reader = command.ExecuteReader();
        var values = new List<double>();
        while (reader.Read())
        {
            values.Add(reader.GetDouble(0));
        }
        return values;
    });

    public static void AddDeadLetter(SqliteConnection connection, string kind, string provider, string account, DateOnly? day, string? runId, long? webhookId,
        string errorClass, string reason, DateTimeOffset now)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO dead_letters (kind, provider, account, day, run_id, webhook_id, error_class, reason, created_at)
            VALUES ($kind, $provider, $account, $day, $run, $webhook, $class, $reason, $at);
            """;
        command.Parameters.AddWithValue("$kind", kind);
        command.Parameters.AddWithValue("$provider", provider);
        command.Parameters.AddWithValue("$account", account);
        command.Parameters.AddWithValue("$day", day is { } d ? Day(d) : DBNull.Value);
        command.Parameters.AddWithValue("$run", (object?)runId ?? DBNull.Value);
        command.Parameters.AddWithValue("$webhook", (object?)webhookId ?? DBNull.Value);
        command.Parameters.AddWithValue("$class", errorClass);
        command.Parameters.AddWithValue("$reason", reason);
        command.Parameters.AddWithValue("$at", PipelineRuns.Iso(now));
        command.ExecuteNonQuery();
    }

    /// <summary>Marks the open connector dead letters of a day as resolved by a run that wrote it.</summary>
    public static int ResolveDay(SqliteConnection connection, SqliteTransaction? transaction, string provider, string account, DateOnly day, string resolvedBy, DateTimeOffset now)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE dead_letters SET resolved_at = $at, resolved_by = $by
            WHERE kind = 'connector' AND provider = $provider AND account = $account AND day = $day AND resolved_at IS NULL;
            """;
        command.Parameters.AddWithValue("$at", PipelineRuns.Iso(now));
        command.Parameters.AddWithValue("$by", resolvedBy);
        command.Parameters.AddWithValue("$provider", provider);
        command.Parameters.AddWithValue("$account", account);
        command.Parameters.AddWithValue("$day", Day(day));
        return command.ExecuteNonQuery();
    }

    public static void Resolve(SqliteConnection connection, long id, string resolvedBy, DateTimeOffset now)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE dead_letters SET resolved_at = $at, resolved_by = $by WHERE id = $id AND resolved_at IS NULL;";
        command.Parameters.AddWithValue("$at", PipelineRuns.Iso(now));
        command.Parameters.AddWithValue("$by", resolvedBy);
        command.Parameters.AddWithValue("$id", id);
        command.ExecuteNonQuery();
    }

    /// <summary>Dead letters, oldest first; open ones only unless <paramref name="all"/>.</summary>
    public static List<DeadLetter> DeadLetters(SqliteConnection connection, string? kind = null, string? provider = null, bool all = false)
    {
        using var command = connection.CreateCommand();
        var where = new List<string>();
        if (!all)
        {
            where.Add("resolved_at IS NULL");
        }
        if (kind is not null)
        {
            where.Add("kind = $kind");
            command.Parameters.AddWithValue("$kind", kind);
        }
        if (provider is not null)
        {
            where.Add("provider = $provider");
            command.Parameters.AddWithValue("$provider", provider);
        }
        command.CommandText = $"""
            SELECT id, kind, provider, account, day, run_id, webhook_id, error_class, reason, created_at, resolved_at, resolved_by
            FROM dead_letters {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY id;
            """;
        using var reader = command.ExecuteReader();
        var letters = new List<DeadLetter>();
        while (reader.Read())
        {
            letters.Add(new DeadLetter(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : ParseDay(reader.GetString(4)), reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetInt64(6), reader.GetString(7), reader.GetString(8), Time(reader.GetString(9)),
                reader.IsDBNull(10) ? null : Time(reader.GetString(10)), reader.IsDBNull(11) ? null : reader.GetString(11)));
        }
        return letters;
    }

    public static void SetErrorClass(HubDatabase database, string runId, ErrorClass? errorClass)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE pipeline_runs SET error_class = $class WHERE run_id = $id;";
        command.Parameters.AddWithValue("$class", errorClass is { } c ? ErrorClasses.Name(c) : DBNull.Value);
        command.Parameters.AddWithValue("$id", runId);
        command.ExecuteNonQuery();
    }

    public static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static DateOnly ParseDay(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static DateTimeOffset Time(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
