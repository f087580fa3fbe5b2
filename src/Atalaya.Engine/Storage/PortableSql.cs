using System.Data;
using System.Data.Common;

namespace Atalaya.Engine.Storage;

/// <summary>
/// Statements that the data folder's SQLite and a cluster's PostgreSQL both run (the row seams of
/// runs, reports, quality findings, marts and connector facts): parameters named <c>@name</c>, which
/// both accept, and a null given a type where PostgreSQL cannot infer one from the statement
/// (SQLite does not mind).
/// </summary>
internal static class PortableSql
{
    public static DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] values) =>
        Command(connection, sql, (IEnumerable<(string, object?)>)values);

    /// <summary>A statement whose null values are text (the nullable columns the row seams write this way are).</summary>
    public static DbCommand Command(DbConnection connection, string sql, IEnumerable<(string Name, object? Value)> values)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in values)
        {
            Add(command, name, value, DbType.String);
        }
        return command;
    }

    /// <summary>
    /// Adds <c>@name</c> (the @ may be given or not); a null is typed <paramref name="nullAs"/>, or
    /// left for PostgreSQL to infer from the column it is compared with or written to.
    /// </summary>
    public static void Add(DbCommand command, string name, object? value, DbType? nullAs = null)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name.StartsWith('@') ? name : "@" + name;
        parameter.Value = value ?? DBNull.Value;
        if (value is null && nullAs is { } type)
        {
            parameter.DbType = type;
        }
        command.Parameters.Add(parameter);
    }
}
