using System.Data.Common;

namespace Atalaya.Engine.Audit;

/// <summary>
/// Where <see cref="AuditLog"/> keeps its rows: the data folder's SQLite database
/// (<see cref="SqliteAuditRows"/>) or a cluster's PostgreSQL, one chain for every node
/// (<see cref="PostgresAuditRows"/>). Only reading and writing rows differs; the chaining, the
/// hash, the group commit and the verification are the log's, one code path for both.
/// </summary>
internal interface IAuditRows
{
    /// <summary>
    /// Appends in one transaction. Every other writer of the same rows (another process, another
    /// node) is held off from the head read to the commit, so <paramref name="chain"/> gets the
    /// true head (null for an empty log) and the rows it returns extend it.
    /// </summary>
    void Append(Func<AuditHead?, IReadOnlyList<AuditRecord>> chain);

    /// <summary>Hands every row to <paramref name="visit"/> in seq order until it returns false.</summary>
    void Walk(Func<AuditRecord, bool> visit);

    /// <summary>Rows matching the filter, newest first.</summary>
    IReadOnlyList<AuditRecord> Query(AuditFilter filter);
}

/// <summary>The last entry of the chain: the next one is <c>Seq + 1</c> and links to <c>Hash</c>.</summary>
internal sealed record AuditHead(long Seq, byte[] Hash);

/// <summary>What <c>GET /api/audit</c> asks for; null filters match everything, times as [From, To).</summary>
internal sealed record AuditFilter(string? Actor, string? Action, DateTimeOffset? From, DateTimeOffset? To, int Limit);

/// <summary>The <c>audit_log</c> table's columns, the same in both databases, and how a row becomes an <see cref="AuditRecord"/>.</summary>
internal static class AuditRow
{
    public const string Columns = "seq, at, actor, role, action, params, scope, injected, rows, status, prev_hash, hash";

    public static AuditRecord Read(DbDataReader r) => new(
        r.GetInt64(0),
        new AuditEntry(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.GetString(3), r.GetString(4),
            r.GetString(5), r.GetString(6), r.GetString(7), r.GetInt32(8), r.GetInt32(9)),
        (byte[])r.GetValue(10), (byte[])r.GetValue(11));
}
