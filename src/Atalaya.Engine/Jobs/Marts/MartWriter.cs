using System.Globalization;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Config;
using Atalaya.Engine.Kpi.Query;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Jobs.Marts;

/// <summary>
/// Writes computed rows into a mart table with MERGE semantics (seed 002): a row is inserted when
/// its key is new, updated only when a value differs (so an unchanged row keeps the run_id of the
/// run that last changed it and a repeated run changes no byte), and rows of the range that the
/// computation no longer produces are deleted. Runs inside the caller's transaction.
/// </summary>
internal static class MartWriter
{
    /// <summary>Merges <paramref name="rows"/> into <paramref name="target"/>; returns the rows inserted, changed or deleted.</summary>
    public static long Merge(SqliteConnection connection, SqliteTransaction transaction, MartTable table, string target,
        IReadOnlyList<object?[]> rows, DateOnly from, DateOnly to, DimensionFilter filter)
    {
        long written = 0;
        using (var upsert = connection.CreateCommand())
        {
            upsert.Transaction = transaction;
            var columns = string.Join(", ", table.Columns);
            var values = string.Join(", ", table.Values);
            upsert.CommandText = $"""
                INSERT INTO {target} ({columns}) VALUES ({string.Join(", ", table.Columns.Select((_, i) => "$c" + i))})
                ON CONFLICT ({string.Join(", ", table.Key)}) DO UPDATE SET
                    {string.Join(", ", table.Values.Append("run_id").Select(c => $"{c} = excluded.{c}"))}
                WHERE ({values}) IS NOT ({string.Join(", ", table.Values.Select(c => "excluded." + c))});
                """;
            var parameters = table.Columns.Select((_, i) => upsert.Parameters.Add("$c" + i, SqliteType.Text)).ToArray();
            upsert.Prepare();
            foreach (var row in rows)
            {
                for (var i = 0; i < parameters.Length; i++)
                {
                    parameters[i].SqliteType = row[i] switch
                    {
                        long => SqliteType.Integer,
                        double => SqliteType.Real,
                        _ => SqliteType.Text,
                    };
                    parameters[i].Value = row[i] ?? DBNull.Value;
                }
                written += upsert.ExecuteNonQuery();
            }
        }

        // Rows of the range (and filter) the computation did not produce any more.
        var produced = new HashSet<string>(rows.Select(r => KeyOf(table, r)), StringComparer.Ordinal);
        var stale = new List<object?[]>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = $"SELECT {string.Join(", ", table.Key)} FROM {target} WHERE {Where(select, table, from, to, filter)};";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                var key = new object?[table.Key.Count];
                reader.GetValues(key!);
                if (!produced.Contains(string.Join('\u001f', key.Select(Text))))
                {
                    stale.Add(key);
                }
            }
        }
        using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = $"DELETE FROM {target} WHERE {string.Join(" AND ", table.Key.Select((c, i) => $"{c} = $k{i}"))};";
            foreach (var key in stale)
            {
                delete.Parameters.Clear();
                for (var i = 0; i < key.Length; i++)
                {
                    delete.Parameters.AddWithValue("$k" + i, key[i]);
                }
                written += delete.ExecuteNonQuery();
            }
        }
        return written;
    }

    /// <summary>The SQL condition selecting a range of days and, where the mart's key has the dimension, the filter's values.</summary>
    public static string Where(SqliteCommand command, MartTable table, DateOnly from, DateOnly to, DimensionFilter filter)
    {
        var conditions = new List<string> { "date >= $from", "date <= $to" };
        if (table.Name == "fact_kpi_daily")
        {
            // Rows the connectors fetched from outside providers are theirs; the marts never rebuild or delete them.
            conditions.Add($"source_system NOT IN ({ConnectorSources.SqlList})");
        }
        command.Parameters.AddWithValue("$from", from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$to", to.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        var n = 0;
        foreach (var (dimension, values) in filter.Values)
        {
            var column = Dimensions.Name(dimension);
            if (!table.Key.Contains(column))
            {
                throw new InvalidOperationException($"{table.Name} has no {column} in its key; it cannot be rebuilt for part of the {column}s");
            }
            var names = new List<string>();
            foreach (var value in values)
            {
                var name = "$f" + n++;
                command.Parameters.AddWithValue(name, value);
                names.Add(name);
            }
            conditions.Add($"{column} IN ({string.Join(", ", names)})");
        }
        return string.Join(" AND ", conditions);
    }

    private static string KeyOf(MartTable table, object?[] row) => string.Join('\u001f', table.Key.Select(c => Text(row[table.IndexOf(c)])));

    private static string Text(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
}
