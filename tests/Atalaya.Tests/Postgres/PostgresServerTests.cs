using Atalaya.Tests.Support;
using Npgsql;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// The PostgreSQL server that scripts/services.sh starts for the scale-out store: reachable on
/// loopback with the connection string it prints, and a real database (transactions, a rollback
/// leaves nothing behind). The store itself comes later; this keeps the server start honest.
/// </summary>
public sealed class PostgresServerTests : IAsyncLifetime
{
    private readonly string state = ServicesScript.NewStateFolder("postgres");
    private string connectionString = "";

    public async Task InitializeAsync() =>
        connectionString = ServicesScript.Value(await ServicesScript.RunAsync(state, "start", "postgres"), "POSTGRES");

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ServicesScript.RunAsync(state, "stop", "postgres");
        Directory.Delete(state, recursive: true);
    }

    [Fact]
    public async Task The_started_server_answers_on_loopback_and_keeps_committed_rows_only()
    {
        Assert.Contains("Host=127.0.0.1", connectionString, StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var one = new NpgsqlCommand("SELECT 1", connection))
        {
            Assert.Equal(1, await one.ExecuteScalarAsync());
        }

        await using (var create = new NpgsqlCommand("CREATE TABLE probe (id int PRIMARY KEY)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }
        await using (var committed = await connection.BeginTransactionAsync())
        {
            await using var insert = new NpgsqlCommand("INSERT INTO probe VALUES (1)", connection, committed);
            await insert.ExecuteNonQueryAsync();
            await committed.CommitAsync();
        }
        await using (var rolledBack = await connection.BeginTransactionAsync())
        {
            await using var insert = new NpgsqlCommand("INSERT INTO probe VALUES (2)", connection, rolledBack);
            await insert.ExecuteNonQueryAsync();
            await rolledBack.RollbackAsync();
        }
        await using var read = new NpgsqlCommand("SELECT array_agg(id ORDER BY id) FROM probe", connection);
        var ids = (int[])(await read.ExecuteScalarAsync())!;
        Assert.Equal([1], ids);
        Assert.Equal("127.0.0.1", connection.Host);
    }
}
