using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Privacy;

/// <summary>One erasure's record while it is pending: its plan (JSON, ids in clear) is what a restart finishes.</summary>
internal sealed record PendingErasure(string ErasureId, string PersonHash, string Plan);

/// <summary>
/// Where the record of erasures (<c>privacy_erasures</c>) lives: the data folder
/// (<see cref="SqliteErasureRows"/>) or, on a cluster, the PostgreSQL every node shares
/// (<see cref="PostgresErasureRows"/>), so that "erased before" and a pending plan are the same on
/// every node. Only reaching the database differs; the statements (<see cref="ErasureRow"/>) are one.
/// </summary>
internal interface IErasureRows
{
    /// <summary>Records a plan as pending, before anything is changed.</summary>
    void Record(string erasureId, string personHash, DateTimeOffset requestedAt, string plan);

    /// <summary>The pending plans, oldest first.</summary>
    IReadOnlyList<PendingErasure> Pending();

    /// <summary>Done: the plan (with the ids in clear) is dropped; the hashes of the ids it erased stay.</summary>
    void Complete(string erasureId, DateTimeOffset completedAt, IEnumerable<string> idHashes, long events, long blocks);

    /// <summary>The done erasure that erased the id of this hash, or null.</summary>
    string? ErasedBefore(string idHash);
}

internal sealed class SqliteErasureRows(HubDatabase database) : IErasureRows
{
    public void Record(string erasureId, string personHash, DateTimeOffset requestedAt, string plan)
    {
        using var connection = database.Connect();
        ErasureRow.Record(connection, erasureId, personHash, requestedAt, plan);
    }

    public IReadOnlyList<PendingErasure> Pending()
    {
        using var connection = database.Connect();
        return ErasureRow.Pending(connection);
    }

    public void Complete(string erasureId, DateTimeOffset completedAt, IEnumerable<string> idHashes, long events, long blocks)
    {
        using var connection = database.Connect();
        ErasureRow.Complete(connection, erasureId, completedAt, idHashes, events, blocks);
    }

    public string? ErasedBefore(string idHash)
    {
        using var connection = database.Connect();
        return ErasureRow.ErasedBefore(connection, idHash);
    }
}

/// <summary>The cluster's record of erasures in PostgreSQL (<c>privacy_erasures</c>, the data folder's columns).</summary>
/// <remarks>Every call may throw <see cref="StateUnavailableException"/> when PostgreSQL cannot be reached.</remarks>
internal sealed class PostgresErasureRows(PostgresState state) : IErasureRows
{
    public void Record(string erasureId, string personHash, DateTimeOffset requestedAt, string plan) =>
        state.Run(connection => ErasureRow.Record(connection, erasureId, personHash, requestedAt, plan));

    public IReadOnlyList<PendingErasure> Pending() => state.Run(ErasureRow.Pending);

    public void Complete(string erasureId, DateTimeOffset completedAt, IEnumerable<string> idHashes, long events, long blocks) =>
        state.Run(connection => ErasureRow.Complete(connection, erasureId, completedAt, idHashes, events, blocks));

    public string? ErasedBefore(string idHash) => state.Run(connection => ErasureRow.ErasedBefore(connection, idHash));
}

/// <summary>The statements of <see cref="IErasureRows"/>, which SQLite and PostgreSQL both run (<see cref="PortableSql"/>).</summary>
internal static class ErasureRow
{
    public static int Record(DbConnection connection, string erasureId, string personHash, DateTimeOffset requestedAt, string plan)
    {
        using var command = PortableSql.Command(connection, """
            INSERT INTO privacy_erasures (erasure_id, person_hash, requested_at, state, cut_seq, plan)
            VALUES (@id, @hash, @at, 'pending', 0, @plan);
            """, ("id", erasureId), ("hash", personHash), ("at", Iso(requestedAt)), ("plan", plan));
        return command.ExecuteNonQuery();
    }

    public static List<PendingErasure> Pending(DbConnection connection)
    {
        using var command = PortableSql.Command(connection,
            "SELECT erasure_id, person_hash, plan FROM privacy_erasures WHERE state = 'pending' ORDER BY requested_at, erasure_id;");
        using var reader = command.ExecuteReader();
        var pending = new List<PendingErasure>();
        while (reader.Read())
        {
            pending.Add(new PendingErasure(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }
        return pending;
    }

    public static int Complete(DbConnection connection, string erasureId, DateTimeOffset completedAt, IEnumerable<string> idHashes, long events, long blocks)
    {
        // CASE rather than max(): SQLite's max(a, b) is PostgreSQL's greatest(a, b).
        using var command = PortableSql.Command(connection, """
            UPDATE privacy_erasures SET state = 'done', plan = NULL, completed_at = @at, id_hashes = @hashes,
                events = CASE WHEN events > @events THEN events ELSE @events END,
                blocks = CASE WHEN blocks > @blocks THEN blocks ELSE @blocks END
            WHERE erasure_id = @id;
            """, ("at", Iso(completedAt)), ("hashes", string.Join(' ', idHashes)), ("events", events), ("blocks", blocks), ("id", erasureId));
        return command.ExecuteNonQuery();
    }

    public static string? ErasedBefore(DbConnection connection, string idHash)
    {
        // A hash is "sha256:" and hex digits: nothing LIKE reads as a wildcard.
        using var command = PortableSql.Command(connection,
            "SELECT erasure_id FROM privacy_erasures WHERE state = 'done' AND ' ' || id_hashes || ' ' LIKE @pattern ORDER BY requested_at LIMIT 1;",
            ("pattern", "% " + idHash + " %"));
        return command.ExecuteScalar() as string;
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
