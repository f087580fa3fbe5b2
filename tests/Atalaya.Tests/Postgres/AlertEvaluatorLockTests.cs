using Atalaya.Engine.Alerts;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Support;
using Npgsql;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The cluster's alert evaluator lock on a real PostgreSQL: one holder at a time, kept across
/// cycles; a holder that gives up, or whose session dies (its node killed, its connection cut),
/// leaves it to the next node that asks; while the server is away no node holds it.
/// </summary>
public sealed class AlertEvaluatorLockTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly List<IDisposable> _opened = [];
    private string _database = "";

    public async Task InitializeAsync() => _database = await server.NewDatabaseAsync();

    public Task DisposeAsync()
    {
        for (var i = _opened.Count - 1; i >= 0; i--)
        {
            _opened[i].Dispose();
        }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task One_node_holds_it_across_cycles_and_another_takes_it_once_the_holder_gives_up()
    {
        var nodeA = Lock();
        var nodeB = Lock();
        Assert.True(nodeA.TryHold());
        Assert.False(nodeB.TryHold());
        Assert.True(nodeA.TryHold()); // the next cycle: still the holder
        Assert.False(nodeB.TryHold());
        Assert.Equal(1, await HoldersAsync());

        nodeA.Release();
        Assert.False(nodeA.Holding);
        Assert.True(nodeB.TryHold());
        Assert.False(nodeA.TryHold());
        Assert.Equal(1, await HoldersAsync());
    }

    [Fact]
    public async Task A_dead_holders_lock_is_taken_over_and_the_old_holder_knows_it_lost_it()
    {
        var nodeA = Lock();
        var nodeB = Lock();
        Assert.True(nodeA.TryHold());
        Assert.False(nodeB.TryHold());

        // The holder's session ends as it does when its node dies: the server closes it.
        await ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = {AlertEvaluatorLock.Key & 0xFFFF_FFFF}");
        await Wait.UntilAsync(async () => await HoldersAsync() == 0, "the dead session's lock to be dropped");

        Assert.True(nodeB.TryHold());
        Assert.False(nodeA.TryHold()); // its session is gone and B holds it now
        Assert.False(nodeA.Holding);
        Assert.True(nodeB.TryHold());
    }

    [Fact]
    public async Task While_postgres_is_away_nobody_holds_it_and_once_it_is_back_one_node_takes_it()
    {
        var nodeA = Lock();
        var nodeB = Lock();
        Assert.True(nodeA.TryHold());
        await server.PauseAsync();
        try
        {
            Assert.False(nodeA.TryHold());
            Assert.False(nodeB.TryHold());
        }
        finally
        {
            await server.ResumeAsync();
        }
        await Wait.UntilAsync(() => nodeB.TryHold(), "a node to take the lock once PostgreSQL is back");
        Assert.False(nodeA.TryHold());
    }

    private AlertEvaluatorLock Lock()
    {
        var state = PostgresState.Open(_database);
        _opened.Add(state);
        var evaluator = new AlertEvaluatorLock(state);
        _opened.Add(evaluator);
        return evaluator;
    }

    private async Task<long> HoldersAsync() =>
        (long)(await PostgresServer.ColumnAsync(_database,
            $"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = {AlertEvaluatorLock.Key & 0xFFFF_FFFF}"))[0]!;

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_database) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
