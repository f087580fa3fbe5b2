using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Jobs.Marts;

/// <summary>
/// A mart's shape, read from its table (the migration is the one definition): the key columns in
/// key order (date first), the value columns, and the bookkeeping columns kpi_versions / kpi_version
/// and run_id. The builder and the writer work from this, so a mart is defined once, in SQL.
/// </summary>
internal sealed class MartTable
{
    private MartTable(string name, IReadOnlyList<string> columns, IReadOnlyList<string> key)
    {
        Name = name;
        Columns = columns;
        Key = key;
        Values = [.. columns.Where(c => !key.Contains(c) && c != "run_id")];
    }

    public string Name { get; }

    /// <summary>Every column, in table order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>The primary key, date first.</summary>
    public IReadOnlyList<string> Key { get; }

    /// <summary>Everything a run computes besides the key (kpi versions included, run_id not).</summary>
    public IReadOnlyList<string> Values { get; }

    public int IndexOf(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i] == column)
            {
                return i;
            }
        }
        throw new InvalidOperationException($"{Name} has no column {column}");
    }

    public static MartTable Read(SqliteConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT name, pk FROM pragma_table_info('{name}') ORDER BY cid;";
        var columns = new List<string>();
        var key = new List<(int Pk, string Name)>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                columns.Add(reader.GetString(0));
                if (reader.GetInt32(1) > 0)
                {
                    key.Add((reader.GetInt32(1), reader.GetString(0)));
                }
            }
        }
        if (columns.Count == 0)
        {
            throw new InvalidOperationException($"no table {name}");
        }
        return new MartTable(name, columns, [.. key.OrderBy(k => k.Pk).Select(k => k.Name)]);
    }

    /// <summary>
    /// Creates <paramref name="shadowName"/> empty, with exactly the live table's definition (its
    /// SQL as stored by SQLite, renamed): backfills compute there before anything is swapped in.
    /// </summary>
    public static void CreateShadow(SqliteConnection connection, string liveName, string shadowName)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $name;";
        command.Parameters.AddWithValue("$name", liveName);
        var sql = (string)command.ExecuteScalar()!;
        command.Parameters.Clear();
        command.CommandText = $"DROP TABLE IF EXISTS {shadowName};";
        command.ExecuteNonQuery();
        var prefix = $"CREATE TABLE {liveName} (";
        if (!sql.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"unexpected definition of {liveName}");
        }
        command.CommandText = $"CREATE TABLE {shadowName} (" + sql[prefix.Length..] + ";";
        command.ExecuteNonQuery();
    }
}
