using System.Data.Common;

namespace Atalaya.Engine.Jobs;

/// <summary>
/// A mart's shape, read from its table (the migration is the one definition): the key columns in
/// key order (date first), the value columns, and the bookkeeping columns kpi_versions / kpi_version
/// and run_id. The builder and the writer work from this, so a mart is defined once, in SQL
/// (<see cref="MartStore.Table"/> reads it from either database).
/// </summary>
internal sealed class MartTable
{
    private MartTable(string name, IReadOnlyList<string> columns, IReadOnlyList<string> key, IReadOnlyList<string> types)
    {
        Name = name;
        Types = types;
        Columns = columns;
        Key = key;
        Values = [.. columns.Where(c => !key.Contains(c) && c != "run_id")];
    }

    public string Name { get; }

    /// <summary>Every column, in table order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Each column's type as the database declares it, in table order.</summary>
    public IReadOnlyList<string> Types { get; }

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

    /// <summary>The shape of <paramref name="name"/> from a query of its columns: (name, position in the primary key or 0, type), in table order.</summary>
    internal static MartTable FromColumns(string name, DbCommand command)
    {
        var columns = new List<string>();
        var types = new List<string>();
        var key = new List<(int Pk, string Name)>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                columns.Add(reader.GetString(0));
                types.Add(reader.GetString(2));
                var pk = Convert.ToInt32(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture);
                if (pk > 0)
                {
                    key.Add((pk, reader.GetString(0)));
                }
            }
        }
        if (columns.Count == 0)
        {
            throw new InvalidOperationException($"no table {name}");
        }
        return new MartTable(name, columns, [.. key.OrderBy(k => k.Pk).Select(k => k.Name)], types);
    }
}
