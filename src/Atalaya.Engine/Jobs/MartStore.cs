using System.Data.Common;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Jobs;

/// <summary>
/// Where the marts (<c>mart_state</c>, <c>daily_metrics</c>, …, <c>fact_kpi_daily</c>) live: the data
/// folder's SQLite database (the embedded hub), or a cluster's PostgreSQL (<c>serve --postgres</c>),
/// where every node reads the rows whichever node built them. Only reaching the database and the
/// few words SQL spells differently are here; the statements and the MERGE logic
/// (Jobs/Marts: MartWriter, MartBatch, Backfill, MartVersions; the connectors' rows in fact_kpi_daily,
/// ConnectorStore) are one code path for both. Statements take <c>@name</c> parameters, which both databases read.
/// </summary>
public abstract class MartStore
{
    private protected MartStore()
    {
    }

    /// <summary>The data folder's marts.</summary>
    public static MartStore Sqlite(HubDatabase database) => new SqliteMartStore(database);

    /// <summary>A cluster's marts; a server that cannot be reached is a <see cref="StateUnavailableException"/>.</summary>
    public static MartStore Postgres(PostgresState state) => new PostgresMartStore(state);

    /// <summary>The cluster's PostgreSQL when the hub shares one (<paramref name="shared"/>), else the data folder.</summary>
    public static MartStore For(HubDatabase database, PostgresState? shared) => shared is null ? Sqlite(database) : Postgres(shared);

    /// <summary>Where a job's marts live.</summary>
    public static MartStore For(JobContext context) => For(context.Database, context.Shared);

    /// <summary>Whether the marts are in the data folder's database (a transaction can then also hold the folder's other tables).</summary>
    internal abstract bool InDataFolder { get; }

    /// <summary>Where, for messages and logs.</summary>
    public abstract string Describe { get; }

    /// <summary>Runs <paramref name="work"/> on one connection (a transaction, a shadow table and its reads stay on it).</summary>
    internal abstract T Run<T>(Func<DbConnection, T> work);

    /// <summary>"Some value of these differs, NULL counting as a value": SQLite's <c>IS NOT</c>, PostgreSQL's <c>IS DISTINCT FROM</c>.</summary>
    internal abstract string IsDistinctFrom { get; }

    /// <summary>
    /// Rows an upsert statement of the marts carries. PostgreSQL: 500, one round trip for them
    /// instead of one a row (0.2 ms each on loopback made the marts 7× slower than SQLite's).
    /// SQLite: 1, a prepared statement run in process; a statement of many rows is slower there,
    /// since binding looks each of its thousands of parameters up by name.
    /// </summary>
    internal abstract int RowsPerUpsert { get; }

    /// <summary>A mart's columns, key and column types, read from the database (the migration is the one definition).</summary>
    internal abstract MartTable Table(DbConnection connection, string name);

    /// <summary>Creates <paramref name="shadow"/> empty, with exactly <paramref name="live"/>'s columns and key.</summary>
    internal abstract void CreateShadow(DbConnection connection, string live, string shadow);

    /// <summary>How a parameter bound to <paramref name="column"/> is written in a statement (PostgreSQL casts it to the column's type, so a NULL has one).</summary>
    internal abstract string Parameter(MartTable table, int column, string name);

    /// <summary>Prepares a statement run once per row, where the database gains by it.</summary>
    internal virtual void Prepare(DbCommand command)
    {
    }
}

internal sealed class SqliteMartStore(HubDatabase database) : MartStore
{
    public override string Describe => "the data folder";

    internal override bool InDataFolder => true;

    internal override string IsDistinctFrom => "IS NOT";

    internal override int RowsPerUpsert => 1;

    internal override T Run<T>(Func<DbConnection, T> work)
    {
        using var connection = database.Connect();
        return work(connection);
    }

    internal override MartTable Table(DbConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT name, pk, type FROM pragma_table_info('{name}') ORDER BY cid;";
        return MartTable.FromColumns(name, command);
    }

    internal override void CreateShadow(DbConnection connection, string live, string shadow)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = @name;";
        PortableSql.Add(command, "@name", live);
        var sql = (string)command.ExecuteScalar()!;
        command.Parameters.Clear();
        command.CommandText = $"DROP TABLE IF EXISTS {shadow};";
        command.ExecuteNonQuery();
        var prefix = $"CREATE TABLE {live} (";
        if (!sql.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"unexpected definition of {live}");
        }
        // The live table's SQL as SQLite stored it, renamed: the same columns, types and key.
        command.CommandText = $"CREATE TABLE {shadow} (" + sql[prefix.Length..] + ";";
        command.ExecuteNonQuery();
    }

    internal override string Parameter(MartTable table, int column, string name) => name;

    internal override void Prepare(DbCommand command) => ((SqliteCommand)command).Prepare();
}

internal sealed class PostgresMartStore(PostgresState state) : MartStore
{
    public override string Describe => $"PostgreSQL at {state.Server}";

    internal override bool InDataFolder => false;

    internal override string IsDistinctFrom => "IS DISTINCT FROM";

    internal override int RowsPerUpsert => 500;

    internal override T Run<T>(Func<DbConnection, T> work) => state.Run<T>(connection => work(connection));

    internal override MartTable Table(DbConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT a.attname,
                   coalesce((SELECT k.n FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) WHERE k.attnum = a.attnum), 0),
                   format_type(a.atttypid, a.atttypmod)
            FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
            WHERE a.attrelid = to_regclass(@name) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum;
            """;
        PortableSql.Add(command, "@name", name);
        return MartTable.FromColumns(name, command);
    }

    internal override void CreateShadow(DbConnection connection, string live, string shadow)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"DROP TABLE IF EXISTS {shadow}; CREATE TABLE {shadow} (LIKE {live} INCLUDING ALL);";
        command.ExecuteNonQuery();
    }

    internal override string Parameter(MartTable table, int column, string name) => $"{name}::{table.Types[column]}";
}
