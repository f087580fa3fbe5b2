using Atalaya.Engine.Postgres;
using Npgsql;

namespace Atalaya.Engine.Alerts;

/// <summary>
/// Which cluster node evaluates the alert rules and sends their notifications (docs/scale-out.md,
/// "Audit and alerts on a cluster"): the one whose dedicated PostgreSQL session holds a
/// session-level advisory lock. Every node asks before each cycle (<see cref="TryHold"/>); the
/// holder keeps it while its session lives, and a node that dies, or loses its connection, has its
/// session closed by the server, which drops the lock for the next node that asks.
/// </summary>
public sealed class AlertEvaluatorLock(PostgresState state) : IDisposable
{
    /// <summary>The lock's key ("alerts" in ASCII; any fixed number would do).</summary>
    internal const long Key = 0x61_6c_65_72_74_73;

    private NpgsqlConnection? _session;

    /// <summary>Whether this node held the lock when it last asked.</summary>
    public bool Holding => _session is not null;

    /// <summary>
    /// True when this node holds the lock, taking it if it is free; false when another node holds
    /// it or PostgreSQL cannot be reached (then no node can be sure it is the only evaluator).
    /// </summary>
    public bool TryHold()
    {
        if (_session is not null)
        {
            if (StillHeld(_session))
            {
                return true;
            }
            Release();
        }
        NpgsqlConnection? session = null;
        try
        {
            session = state.OpenSession();
            using var take = new NpgsqlCommand($"SELECT pg_try_advisory_lock({Key});", session);
            if ((bool)take.ExecuteScalar()!)
            {
                _session = session;
                return true;
            }
        }
        catch (Exception e) when (e is StateUnavailableException or NpgsqlException)
        {
            // Cannot be reached: not the evaluator, until it can be asked again.
        }
        session?.Dispose();
        return false;
    }

    /// <summary>
    /// Gives the lock up: another node takes it on its next cycle. Unlocked explicitly first, since
    /// the server ends a closed session's backend (and drops its locks) only a moment later.
    /// </summary>
    public void Release()
    {
        if (_session is null)
        {
            return;
        }
        try
        {
            using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({Key});", _session);
            unlock.ExecuteNonQuery();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The session is already gone, and its lock with it.
        }
        _session.Dispose();
        _session = null;
    }

    public void Dispose() => Release();

    /// <summary>Whether the session is alive and still holds the lock (a server restart ends every session).</summary>
    private static bool StillHeld(NpgsqlConnection session)
    {
        try
        {
            // A bigint key is stored as classid (high 32 bits) and objid (low 32 bits).
            using var check = new NpgsqlCommand($"""
                SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                    AND classid::bigint = {Key >> 32} AND objid::bigint = {Key & 0xFFFF_FFFF} AND objsubid = 1);
                """, session);
            return (bool)check.ExecuteScalar()!;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false;
        }
    }
}
