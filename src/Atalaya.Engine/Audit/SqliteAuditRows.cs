using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Audit;

/// <summary>
/// Audit rows in the data folder's database (the embedded hub, and a cluster node without
/// <c>--postgres</c>). An immediate transaction takes SQLite's write lock before the head is read,
/// which holds off the server's writer and any CLI command alike.
/// </summary>
internal sealed class SqliteAuditRows : IAuditRows
{
    private readonly HubDatabase? _database;
    private readonly SqliteConnection? _connection;

    /// <summary>Rows reached through a connection of their own per call.</summary>
    public SqliteAuditRows(HubDatabase database) => _database = database;

    /// <summary>Rows reached through the caller's open connection (which the caller keeps and closes).</summary>
    public SqliteAuditRows(SqliteConnection connection) => _connection = connection;

    public void Append(Func<AuditHead?, IReadOnlyList<AuditRecord>> chain) => Use(connection =>
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        using var head = connection.CreateCommand();
        head.Transaction = transaction;
        head.CommandText = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;";
        AuditHead? last = null;
        using (var reader = head.ExecuteReader())
        {
            if (reader.Read())
            {
                last = new AuditHead(reader.GetInt64(0), (byte[])reader.GetValue(1));
            }
        }
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = $"""
            INSERT INTO audit_log ({AuditRow.Columns})
            VALUES ($seq, $at, $actor, $role, $action, $params, $scope, $injected, $rows, $status, $prev, $hash);
            """;
        foreach (var record in chain(last))
        {
            var entry = record.Entry;
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$seq", record.Seq);
            insert.Parameters.AddWithValue("$at", entry.At.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$actor", entry.Actor);
            insert.Parameters.AddWithValue("$role", entry.Role);
            insert.Parameters.AddWithValue("$action", entry.Action);
            insert.Parameters.AddWithValue("$params", entry.Params);
            insert.Parameters.AddWithValue("$scope", entry.Scope);
            insert.Parameters.AddWithValue("$injected", entry.Injected);
            insert.Parameters.AddWithValue("$rows", entry.Rows);
            insert.Parameters.AddWithValue("$status", entry.Status);
            insert.Parameters.AddWithValue("$prev", record.PreviousHash);
            insert.Parameters.AddWithValue("$hash", record.Hash);
            insert.ExecuteNonQuery();
        }
        transaction.Commit();
        return 0;
    });

    public void Walk(Func<AuditRecord, bool> visit) => Use(connection =>
    {
        using var command = connection.CreateCommand();
        // seq is the rowid: the order rows were written in.
        command.CommandText = $"SELECT {AuditRow.Columns} FROM audit_log ORDER BY rowid;";
        using var reader = command.ExecuteReader();
        while (reader.Read() && visit(AuditRow.Read(reader)))
        {
        }
        return 0;
    });

    public IReadOnlyList<AuditRecord> Query(AuditFilter filter) => Use(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {AuditRow.Columns} FROM audit_log
            WHERE ($actor IS NULL OR actor = $actor) AND ($action IS NULL OR action = $action)
              AND ($from IS NULL OR at >= $from) AND ($to IS NULL OR at < $to)
            ORDER BY seq DESC LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$actor", (object?)filter.Actor ?? DBNull.Value);
        command.Parameters.AddWithValue("$action", (object?)filter.Action ?? DBNull.Value);
        command.Parameters.AddWithValue("$from", (object?)filter.From?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$to", (object?)filter.To?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", filter.Limit);
        using var reader = command.ExecuteReader();
        var records = new List<AuditRecord>();
        while (reader.Read())
        {
            records.Add(AuditRow.Read(reader));
        }
        return records;
    });

    private T Use<T>(Func<SqliteConnection, T> work)
    {
        if (_connection is not null)
        {
            return work(_connection);
        }
        using var connection = _database!.Connect();
        return work(connection);
    }
}
