using System.Data;
using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Connectors;

/// <summary>An open or resolved dead letter: a connector day or a webhook payload that could not be processed.</summary>
public sealed record DeadLetter(long Id, string Kind, string Provider, string Account, DateOnly? Day, string? RunId, long? WebhookId,
    string ErrorClass, string Reason, DateTimeOffset CreatedAt, DateTimeOffset? ResolvedAt, string? ResolvedBy);

/// <summary>
/// The facts the connectors' pages become in <c>fact_kpi_daily</c> (one transaction per unit: a day
/// is all written or not at all), wherever the marts are. The raw pages and the dead letters are
/// kept through <see cref="IConnectorRows"/>, the run's error class on its run row (<see cref="IRunRows.SetErrorClass"/>).
/// </summary>
public static class ConnectorStore
{
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

    public static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static DateOnly ParseDay(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);
}
