using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Atalaya.Engine.Postgres;
using Npgsql;

namespace Atalaya.Engine.Jobs;

/// <summary>
/// Job locks shared by every node of a cluster: a session-level <c>pg_try_advisory_lock</c> held on
/// a connection of the run's own for as long as the run lasts. PostgreSQL drops a session's advisory
/// locks when the session ends, so a node that dies (or loses its connection) frees its jobs'
/// locks. Who holds a lock is written in <c>job_locks</c> for the refusal message; the advisory
/// lock, not that row, decides.
/// </summary>
internal sealed class PostgresJobLocks(PostgresState state) : IJobLocks
{
    /// <summary>The first key of every job lock ("atjb" in ASCII), apart from <see cref="PostgresState.MigrationLock"/>'s one-key form.</summary>
    internal const int Space = 0x61_74_6a_62;

    public IDisposable? TryTake(string name, string holder, out string? heldBy)
    {
        var session = state.OpenSession();
        try
        {
            using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(@space, @key);", session))
            {
                take.Parameters.AddWithValue("space", Space);
                take.Parameters.AddWithValue("key", Key(name));
                if (!(bool)take.ExecuteScalar()!)
                {
                    heldBy = Holder(session, name);
                    session.Dispose();
                    return null;
                }
            }
            using (var record = new NpgsqlCommand("""
                INSERT INTO job_locks (name, holder) VALUES (@name, @holder)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder;
                """, session))
            {
                record.Parameters.AddWithValue("name", name);
                record.Parameters.AddWithValue("holder",
                    $"{holder}, pid {Environment.ProcessId} on {Environment.MachineName}, since {DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}");
                record.ExecuteNonQuery();
            }
            heldBy = null;
            return new Held(session, name);
        }
        catch (Exception e) when (PostgresState.IsUnavailable(e))
        {
            session.Dispose();
            throw new StateUnavailableException($"PostgreSQL at {state.Server} cannot be reached while taking the {name} job lock ({e.Message})", e);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Asks <c>pg_locks</c>, which lists every session's advisory locks, rather than taking and releasing the lock.</summary>
    public bool IsHeld(string name) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand("""
            SELECT EXISTS (SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND objsubid = 2
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = @space::oid AND objid = @key::oid);
            """, connection);
        command.Parameters.AddWithValue("space", (long)Space);
        command.Parameters.AddWithValue("key", (long)Key(name));
        return (bool)command.ExecuteScalar()!;
    });

    /// <summary>The lock's second key: a stable non-negative number from its name (the same on every node and version).</summary>
    internal static int Key(string name) => BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(name)), 0) & int.MaxValue;

    private static string Holder(NpgsqlConnection session, string name)
    {
        using var command = new NpgsqlCommand("SELECT holder FROM job_locks WHERE name = @name;", session);
        command.Parameters.AddWithValue("name", name);
        return command.ExecuteScalar() as string ?? "another run";
    }

    /// <summary>A taken lock: disposing unlocks it and closes the session (which would unlock it anyway).</summary>
    private sealed class Held(NpgsqlConnection session, string name) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@space, @key);", session);
                release.Parameters.AddWithValue("space", Space);
                release.Parameters.AddWithValue("key", Key(name));
                release.ExecuteScalar();
            }
            catch (Exception e) when (PostgresState.IsUnavailable(e))
            {
                // The session is gone, and its locks with it.
            }
            finally
            {
                session.Dispose();
            }
        }
    }
}
