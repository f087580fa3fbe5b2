using System.Globalization;
using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Jobs;

/// <summary>Hubs with demo data, a job runner over them, and the marts as text for comparisons.</summary>
public static class JobTestData
{
    public static readonly EnvironmentConfig Config = new() { Environment = "dev" };

    /// <summary>A real hub (HTTP on loopback) loaded with a small demo marketplace ending today.</summary>
    public static Task<KpiHub> DemoHubAsync(int days = 12, int seed = 11) =>
        KpiHub.StartWithDemoAsync(new DemoOptions(Days: days, Seed: seed, SessionsPerDay: 250));

    public static JobRunner Runner(KpiHub hub) => new(hub.Server.Hub.Database, hub.Server.Hub.Kpis, Config);

    public static PipelineRun Run(KpiHub hub, string job = "daily_batch")
    {
        var result = Runner(hub).Run(job, "test");
        Assert.Null(result.BusyWith);
        return result.Run!;
    }

    public static DateOnly Yesterday => DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

    /// <summary>Every mart row, ordered by key, one line each (optionally without run_id, which records who wrote a row, not what it says).</summary>
    public static string Dump(HubDatabase database, bool withRunId = true, string prefix = "") => Dump(MartStore.Sqlite(database), withRunId, prefix);

    /// <summary>
    /// Every mart row of <paramref name="store"/>, one line each, rows in key order compared byte by
    /// byte (as SQLite orders text; PostgreSQL's default collation would order otherwise).
    /// </summary>
    public static string Dump(MartStore store, bool withRunId = true, string prefix = "") => store.Run(connection =>
    {
        var text = new StringBuilder();
        foreach (var mart in MartBuilder.Names)
        {
            var table = store.Table(connection, mart);
            var columns = table.Columns.Where(c => withRunId || c != "run_id").ToList();
            var keys = table.Key.Select(k => columns.IndexOf(k)).ToList();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {string.Join(", ", columns)} FROM {prefix}{mart};";
            using var reader = command.ExecuteReader();
            var rows = new List<string[]>();
            while (reader.Read())
            {
                var row = new string[reader.FieldCount];
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    row[i] = reader.IsDBNull(i) ? "∅" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)!;
                }
                rows.Add(row);
            }
            rows.Sort((a, b) => keys.Select(k => string.CompareOrdinal(a[k], b[k])).FirstOrDefault(c => c != 0));
            foreach (var row in rows)
            {
                text.Append(mart);
                foreach (var value in row)
                {
                    text.Append('|').Append(value);
                }
                text.Append('\n');
            }
        }
        return text.ToString();
    });

    public static void Execute(HubDatabase database, string sql)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static object? Scalar(HubDatabase database, string sql)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static long Count(HubDatabase database, string sql) => Convert.ToInt64(Scalar(database, sql), CultureInfo.InvariantCulture);
}
