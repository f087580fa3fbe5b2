using System.Net;
using System.Net.Sockets;
using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// Opening the shared PostgreSQL state: migrations applied once however many nodes start together,
/// a second open a no-op, and a clear error for each way the setting can be wrong: not a connection
/// string (without echoing a password), a server that is not there, a login refused, a schema newer
/// than this build.
/// </summary>
public sealed class PostgresStateTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task Nodes_opening_an_empty_database_together_all_succeed_and_a_later_open_changes_nothing()
    {
        var database = await server.NewDatabaseAsync();
        using var start = new ManualResetEventSlim();
        var opens = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.Wait();
            return PostgresState.Open(database);
        })).ToList();
        start.Set();
        var states = await Task.WhenAll(opens);

        var versions = await PostgresServer.ColumnAsync(database, "SELECT version FROM schema_version ORDER BY version");
        Assert.Equal(Enumerable.Range(1, PostgresMigrations.Steps.Count).Cast<object?>(), versions);
        var appliedAt = await PostgresServer.ColumnAsync(database, "SELECT applied_at FROM schema_version ORDER BY version");

        using (var again = PostgresState.Open(database))
        {
            Assert.Equal(appliedAt, await PostgresServer.ColumnAsync(database, "SELECT applied_at FROM schema_version ORDER BY version"));
            // The migrated tables work through any of the states: a token made through one is known to all.
            var (token, secret) = new TokenStore(states[0]).Create(new TokenRequest(Role.Admin));
            Assert.Equal(token.Id, new TokenStore(again).Authenticate(secret)?.Id);
            Assert.Equal(token.Id, new TokenStore(states[3]).Authenticate(secret)?.Id);
        }
        foreach (var state in states)
        {
            state.Dispose();
        }
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("postgres://atalaya:sekret@127.0.0.1/atalaya", "not a URL")]
    [InlineData("Hots=127.0.0.1;Password=sekret", "not a PostgreSQL connection string")]
    [InlineData("Port=5432;Password=sekret", "names no Host")]
    [InlineData("Host=127.0.0.1;Port=notaport;Password=sekret", "not a PostgreSQL connection string")]
    public void A_setting_that_is_not_a_connection_string_is_refused_with_an_example_and_without_its_password(string setting, string problem)
    {
        var error = Assert.Throws<PostgresStateException>(() => PostgresState.Open(setting));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains("Host=127.0.0.1;Port=5432;Username=atalaya", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sekret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_that_is_not_there_is_unavailable_and_a_refused_login_says_what_to_check()
    {
        var unavailable = Assert.Throws<StateUnavailableException>(() => PostgresState.Open($"Host=127.0.0.1;Port={ClosedPort()};Username=atalaya;Password=sekret"));
        Assert.Contains("cannot be reached", unavailable.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sekret", unavailable.Message, StringComparison.Ordinal);

        var refused = Assert.Throws<PostgresStateException>(() => PostgresState.Open(server.AdminConnectionString + ";Database=no_such_database"));
        Assert.Contains("refused the login", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Database", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_migrated_by_a_newer_build_is_refused_rather_than_written_to()
    {
        var database = await server.NewDatabaseAsync();
        PostgresState.Open(database).Dispose();
        var newer = PostgresMigrations.Steps.Count + 1;
        await PostgresServer.ColumnAsync(database, $"INSERT INTO schema_version (version) VALUES ({newer}) RETURNING version");

        var error = Assert.Throws<PostgresStateException>(() => PostgresState.Open(database));
        Assert.Contains($"schema version {newer}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task While_the_server_is_away_calls_are_unavailable_then_refused_at_once_and_work_again_once_it_is_back()
    {
        var database = await server.NewDatabaseAsync();
        using var state = PostgresState.Open(database);
        var tokens = new TokenStore(state);
        var (token, secret) = tokens.Create(new TokenRequest(Role.Admin));

        await server.PauseAsync();
        try
        {
            // The first call reaches for the server and fails; by the third at the latest calls are
            // refused without trying (the circuit is open).
            var causes = Enumerable.Range(0, 3).Select(_ => Assert.Throws<StateUnavailableException>(() => tokens.List()).InnerException).ToList();
            Assert.IsAssignableFrom<Npgsql.NpgsqlException>(causes[0]);
            Assert.IsType<Polly.CircuitBreaker.BrokenCircuitException>(causes[^1]);
        }
        finally
        {
            await server.ResumeAsync();
        }
        await Wait.UntilAsync(() =>
        {
            try
            {
                return tokens.List().Single().Id == token.Id;
            }
            catch (StateUnavailableException)
            {
                return false;
            }
        }, "the store answers again once PostgreSQL is back");
        Assert.Equal(token.Id, new TokenStore(state).Authenticate(secret)?.Id);
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
