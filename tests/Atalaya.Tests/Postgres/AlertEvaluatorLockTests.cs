using Atalaya.Alerts;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Access;
using Atalaya.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The cluster's alert evaluator lock on a real PostgreSQL: one holder at a time, kept across
/// cycles; a holder that gives up, or whose session dies (its node killed, its connection cut),
/// leaves it to the next node that asks; while the server is away no node holds it. And two hubs
/// running the alert loop on one PostgreSQL: only the holder's loop evaluates, and
/// <c>atalaya_alert_evaluator</c> says which one.
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

    [Fact]
    public async Task Of_two_hubs_running_the_alert_loop_only_the_holder_evaluates_and_the_other_takes_over_when_it_stops()
    {
        var config = EnvironmentFiles.Parse("""
            environment: dev
            alerts:
              evaluate_every: 100ms
            """, "test.yaml", "dev");
        var hubs = new List<TestHub>();
        try
        {
            hubs.Add(await StartHubAsync(config));
            hubs.Add(await StartHubAsync(config));
            await Wait.UntilAsync(() => hubs.Any(h => Service(h).Evaluated > 0), "one hub to evaluate");
            var holder = hubs.Single(h => Service(h).Evaluated > 0);
            var other = hubs.Single(h => h != holder);
            var cycles = Service(other).Cycles;
            await Wait.UntilAsync(() => Service(other).Cycles >= cycles + 3, "three more cycles of the other hub");
            Assert.Equal(0, Service(other).Evaluated);
            Assert.Contains("atalaya_alert_evaluator 1", await ScrapeAsync(holder), StringComparison.Ordinal);
            Assert.Contains("atalaya_alert_evaluator 0", await ScrapeAsync(other), StringComparison.Ordinal);

            await holder.DisposeAsync(); // its loop stops and its session closes
            hubs.Remove(holder);
            await Wait.UntilAsync(() => Service(other).Evaluated > 0, "the other hub to take the evaluation over");
            Assert.Contains("atalaya_alert_evaluator 1", await ScrapeAsync(other), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    private async Task<TestHub> StartHubAsync(Engine.Config.EnvironmentConfig config)
    {
        var state = PostgresState.Open(_database);
        _opened.Add(state);
        return await TestHub.StartAsync(o => o with { Config = config, Postgres = state, RunAlerts = true });
    }

    private static AlertService Service(TestHub hub) => hub.Services.GetRequiredService<AlertService>();

    private static async Task<string> ScrapeAsync(TestHub hub) =>
        (await AccessHttp.GetAsync(hub.Client, "/metrics", hub.CreateToken(Role.Admin))).Body;

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
