using System.Data;
using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Config;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Jobs.Marts;

/// <summary>
/// Writes computed rows into a mart table with MERGE semantics (seed 002): a row is inserted when
/// its key is new, updated only when a value differs (so an unchanged row keeps the run_id of the
/// run that last changed it and a repeated run changes no byte), and rows of the range that the
/// computation no longer produces are deleted. Runs inside the caller's transaction, on either
/// database (<see cref="MartStore"/>).
/// </summary>
internal static class MartWriter
{
    /// <summary>Merges <paramref name="rows"/> into <paramref name="target"/>; returns the rows inserted, changed or deleted.</summary>
    public static long Merge(MartStore store, DbConnection connection, DbTransaction transaction, MartTable table, string target,
        IReadOnlyList<object?[]> rows, DateOnly from, DateOnly to, DimensionFilter filter)
    {
        long written = 0;
        // Rows go in statements of up to the store's RowsPerUpsert rows (PostgreSQL: one round trip
        // for 500). A key given twice keeps its last row, as one statement a row would leave it (an
        // upsert may not touch a row twice in one statement).
        // By key: also what the computation produced, for finding the stale rows below.
        var unique = new Dictionary<string, object?[]>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            unique[KeyOf(table, row)] = row;
        }
        var pending = unique.Values.ToList();
        var perStatement = store.RowsPerUpsert;
        DbCommand? full = null;
        try
        {
            for (var at = 0; at < pending.Count; at += perStatement)
            {
                var count = Math.Min(perStatement, pending.Count - at);
                DbCommand upsert;
                if (count == perStatement)
                {
                    upsert = full ??= Upsert(store, connection, transaction, table, target, count);
                }
                else
                {
                    upsert = Upsert(store, connection, transaction, table, target, count);
                }
                var parameters = upsert.Parameters;
                for (var r = 0; r < count; r++)
                {
                    var row = pending[at + r];
                    for (var i = 0; i < table.Columns.Count; i++)
                    {
                        var parameter = parameters[(r * table.Columns.Count) + i];
                        // Integers stay integers (a count reads back 12, not 12.0), NULL stays NULL.
                        parameter.DbType = row[i] switch
                        {
                            long => DbType.Int64,
                            double => DbType.Double,
                            _ => DbType.String,
                        };
                        parameter.Value = row[i] ?? DBNull.Value;
                    }
                }
                written += upsert.ExecuteNonQuery();
                if (upsert != full)
                {
                    upsert.Dispose();
                }
            }
        }
        finally
        {
            full?.Dispose();
        }

        // Rows of the range (and filter) the computation did not produce any more.
        var stale = new List<object?[]>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = $"SELECT {string.Join(", ", table.Key)} FROM {target} WHERE {Where(select, table, from, to, filter)};";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                var key = new object?[table.Key.Count];
                for (var i = 0; i < key.Length; i++)
                {
                    key[i] = reader.GetValue(i);
                }
                if (!unique.ContainsKey(string.Join('\u001f', key.Select(Text))))
                {
                    stale.Add(key);
                }
            }
        }
        using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = $"DELETE FROM {target} WHERE {string.Join(" AND ", table.Key.Select((c, i) => $"{c} = @k{i}"))};";
            foreach (var key in stale)
            {
                delete.Parameters.Clear();
                for (var i = 0; i < key.Length; i++)
                {
                    PortableSql.Add(delete, "@k" + i, key[i]);
                }
                written += delete.ExecuteNonQuery();
            }
        }
        return written;
    }

    /// <summary>
    /// <c>INSERT … VALUES (…), (…) ON CONFLICT (key) DO UPDATE … WHERE the values differ</c> for
    /// <paramref name="count"/> rows: an unchanged row is neither rewritten nor counted.
    /// </summary>
    private static DbCommand Upsert(MartStore store, DbConnection connection, DbTransaction transaction, MartTable table, string target, int count)
    {
        var upsert = connection.CreateCommand();
        upsert.Transaction = transaction;
        var width = table.Columns.Count;
        var values = string.Join(",\n    ", Enumerable.Range(0, count).Select(r =>
            "(" + string.Join(", ", table.Columns.Select((_, i) => store.Parameter(table, i, $"@c{(r * width) + i}"))) + ")"));
        upsert.CommandText = $"""
            INSERT INTO {target} ({string.Join(", ", table.Columns)}) VALUES
                {values}
            ON CONFLICT ({string.Join(", ", table.Key)}) DO UPDATE SET
                {string.Join(", ", table.Values.Append("run_id").Select(c => $"{c} = excluded.{c}"))}
            WHERE ({string.Join(", ", table.Values.Select(c => $"{target}.{c}"))}) {store.IsDistinctFrom} ({string.Join(", ", table.Values.Select(c => "excluded." + c))});
            """;
        for (var p = 0; p < count * width; p++)
        {
            var parameter = upsert.CreateParameter();
            parameter.ParameterName = "@c" + p;
            upsert.Parameters.Add(parameter);
        }
        store.Prepare(upsert);
        return upsert;
    }

    /// <summary>The SQL condition selecting a range of days and, where the mart's key has the dimension, the filter's values.</summary>
    public static string Where(DbCommand command, MartTable table, DateOnly from, DateOnly to, DimensionFilter filter)
    {
        var conditions = new List<string> { "date >= @from", "date <= @to" };
        if (table.Name == "fact_kpi_daily")
        {
            // Rows the connectors fetched from outside providers are theirs; the marts never rebuild or delete them.
            conditions.Add($"source_system NOT IN ({ConnectorSources.SqlList})");
        }
        PortableSql.Add(command, "@from", from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        PortableSql.Add(command, "@to", to.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
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
                var name = "@f" + n++;
                PortableSql.Add(command, name, value);
                names.Add(name);
            }
            conditions.Add($"{column} IN ({string.Join(", ", names)})");
        }
        return string.Join(" AND ", conditions);
    }

    private static string KeyOf(MartTable table, object?[] row) => string.Join('\u001f', table.Key.Select(c => Text(row[table.IndexOf(c)])));

    private static string Text(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
}
