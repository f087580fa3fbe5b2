using Atalaya.Engine.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Atalaya.Engine.Audit;

/// <summary>
/// Audit rows in a cluster's PostgreSQL (<c>--postgres</c>): every node and CLI command appends to
/// one chain. A transaction-scoped advisory lock taken before the head is read makes appends take
/// turns (another node's commit is visible to the head read that follows the lock, read committed),
/// so the chain stays linear. A server that cannot be reached is a <see cref="StateUnavailableException"/>.
/// </summary>
internal sealed class PostgresAuditRows(PostgresState state) : IAuditRows
{
    /// <summary>The advisory lock appends hold until they commit ("audit" in ASCII; any fixed number would do).</summary>
    internal const long AppendLock = 0x61_75_64_69_74;

    public void Append(Func<AuditHead?, IReadOnlyList<AuditRecord>> chain) => state.Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({AppendLock});", connection, transaction))
        {
            lockCommand.ExecuteNonQuery();
        }
        AuditHead? last = null;
        using (var head = new NpgsqlCommand("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1;", connection, transaction))
        using (var reader = head.ExecuteReader())
        {
            if (reader.Read())
            {
                last = new AuditHead(reader.GetInt64(0), (byte[])reader.GetValue(1));
            }
        }
        var records = chain(last);
        // One statement for the whole group commit: a window can hold thousands of reads, a round trip each would add up.
        using var insert = new NpgsqlCommand($"""
            INSERT INTO audit_log ({AuditRow.Columns})
            SELECT * FROM unnest(@seq, @at, @actor, @role, @action, @params, @scope, @injected, @rows, @status, @prev, @hash);
            """, connection, transaction);
        insert.Parameters.AddWithValue("seq", records.Select(r => r.Seq).ToArray());
        insert.Parameters.AddWithValue("at", records.Select(r => r.Entry.At.ToUnixTimeMilliseconds()).ToArray());
        insert.Parameters.AddWithValue("actor", records.Select(r => r.Entry.Actor).ToArray());
        insert.Parameters.AddWithValue("role", records.Select(r => r.Entry.Role).ToArray());
        insert.Parameters.AddWithValue("action", records.Select(r => r.Entry.Action).ToArray());
        insert.Parameters.AddWithValue("params", records.Select(r => r.Entry.Params).ToArray());
        insert.Parameters.AddWithValue("scope", records.Select(r => r.Entry.Scope).ToArray());
        insert.Parameters.AddWithValue("injected", records.Select(r => r.Entry.Injected).ToArray());
        insert.Parameters.AddWithValue("rows", records.Select(r => r.Entry.Rows).ToArray());
        insert.Parameters.AddWithValue("status", records.Select(r => r.Entry.Status).ToArray());
        insert.Parameters.AddWithValue("prev", NpgsqlDbType.Array | NpgsqlDbType.Bytea, records.Select(r => r.PreviousHash).ToArray());
        insert.Parameters.AddWithValue("hash", NpgsqlDbType.Array | NpgsqlDbType.Bytea, records.Select(r => r.Hash).ToArray());
        insert.ExecuteNonQuery();
        transaction.Commit();
        return 0;
    });

    public void Walk(Func<AuditRecord, bool> visit) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand($"SELECT {AuditRow.Columns} FROM audit_log ORDER BY seq;", connection);
        using var reader = command.ExecuteReader();
        while (reader.Read() && visit(AuditRow.Read(reader)))
        {
        }
        return 0;
    });

    public IReadOnlyList<AuditRecord> Query(AuditFilter filter) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand($"""
            SELECT {AuditRow.Columns} FROM audit_log
            WHERE (@actor::text IS NULL OR actor = @actor) AND (@action::text IS NULL OR action = @action)
              AND (@from::bigint IS NULL OR at >= @from) AND (@to::bigint IS NULL OR at < @to)
            ORDER BY seq DESC LIMIT @limit;
            """, connection);
        command.Parameters.AddWithValue("actor", NpgsqlDbType.Text, (object?)filter.Actor ?? DBNull.Value);
        command.Parameters.AddWithValue("action", NpgsqlDbType.Text, (object?)filter.Action ?? DBNull.Value);
        command.Parameters.AddWithValue("from", NpgsqlDbType.Bigint, (object?)filter.From?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("to", NpgsqlDbType.Bigint, (object?)filter.To?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", filter.Limit);
        using var reader = command.ExecuteReader();
        var records = new List<AuditRecord>();
        while (reader.Read())
        {
            records.Add(AuditRow.Read(reader));
        }
        return records;
    });
}
