using Atalaya.Engine;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Support;
using Npgsql;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// A job lock on PostgreSQL lives as long as its holder's session: when the session dies (its node
/// crashed, or its connection was cut: here the server ends it with <c>pg_terminate_backend</c>)
/// another node can take the lock, without anyone releasing it.
/// </summary>
public sealed class PostgresJobLockTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task A_lock_whose_holder_session_dies_is_free_for_another_node_and_the_dead_holder_releases_quietly()
    {
        var shared = await server.NewDatabaseAsync();
        using var nodeA = PostgresState.Open(shared);
        using var nodeB = PostgresState.Open(shared);
        var locksA = JobState.Shared(nodeA).Locks;
        var locksB = JobState.Shared(nodeB).Locks;

        var held = locksA.TryTake(JobCatalog.MartsLock, "daily_batch run_on_a", out _);
        Assert.NotNull(held);
        Assert.Null(locksB.TryTake(JobCatalog.MartsLock, "daily_batch run_on_b", out var holder));
        Assert.Contains("daily_batch run_on_a", holder, StringComparison.Ordinal);

        // The server ends the holder's session, as it does when the holder's node dies.
        var key = PostgresJobLocks.Key(JobCatalog.MartsLock);
        var holders = await PostgresServer.ColumnAsync(shared,
            $"SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = {PostgresJobLocks.Space} AND objid = {key} AND objsubid = 2");
        var pid = Assert.Single(holders);
        Assert.Equal([true], await PostgresServer.ColumnAsync(shared, $"SELECT pg_terminate_backend({pid})"));

        await Wait.UntilAsync(() => !locksB.IsHeld(JobCatalog.MartsLock), "the ended session's lock is gone");
        using var taken = locksB.TryTake(JobCatalog.MartsLock, "daily_batch run_on_b", out var busy);
        Assert.True(taken is not null, busy);
        held.Dispose(); // its session is gone: nothing to release, and no error
        Assert.True(locksA.IsHeld(JobCatalog.MartsLock)); // B's, untouched by A's release
    }

    [Fact]
    public async Task Locks_of_different_jobs_and_of_different_databases_do_not_block_each_other()
    {
        using var one = PostgresState.Open(await server.NewDatabaseAsync());
        using var other = PostgresState.Open(await server.NewDatabaseAsync());
        var locks = JobState.Shared(one).Locks;

        using var marts = locks.TryTake(JobCatalog.MartsLock, "daily_batch run_1", out _);
        using var quality = locks.TryTake("quality", "dq_health run_2", out _);
        using var elsewhere = JobState.Shared(other).Locks.TryTake(JobCatalog.MartsLock, "daily_batch run_3", out _);

        Assert.NotNull(marts);
        Assert.NotNull(quality);
        Assert.NotNull(elsewhere);
        Assert.NotEqual(PostgresJobLocks.Key(JobCatalog.MartsLock), PostgresJobLocks.Key("quality"));
    }

    [Fact]
    public async Task Taking_a_lock_while_the_server_is_away_is_a_clear_unavailable_error()
    {
        var shared = await server.NewDatabaseAsync();
        using var node = PostgresState.Open(shared);
        await server.PauseAsync();
        try
        {
            var e = Assert.Throws<StateUnavailableException>(() => JobState.Shared(node).Locks.TryTake(JobCatalog.MartsLock, "daily_batch run_x", out _));
            Assert.Contains("cannot be reached", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await server.ResumeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        await Wait.UntilAsync(() =>
        {
            try
            {
                using var back = JobState.Shared(node).Locks.TryTake(JobCatalog.MartsLock, "daily_batch run_y", out _);
                return back is not null;
            }
            catch (StateUnavailableException)
            {
                return false;
            }
        }, "the lock can be taken once the server is back");
    }
}
