using Atalaya.Tests.Support;
using Npgsql;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// A PostgreSQL server of the test class's own, started by scripts/services.sh on 127.0.0.1, with a
/// fresh empty database per test (<see cref="NewDatabaseAsync"/>) and the means to take the server
/// away and bring it back on the same port and data (<see cref="PauseAsync"/>, <see cref="ResumeAsync"/>).
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private readonly string _state = ServicesScript.NewStateFolder("postgres");

    /// <summary>The server's own <c>postgres</c> database (for creating the tests' databases).</summary>
    public string AdminConnectionString { get; private set; } = "";

    /// <remarks>
    /// The tests' own connections are not pooled: a pooled one would be broken after
    /// <see cref="PauseAsync"/> (the states under test have pools of their own).
    /// </remarks>
    public async Task InitializeAsync() =>
        AdminConnectionString = ServicesScript.Value(await ServicesScript.RunAsync(_state, "start", "postgres"), "POSTGRES") + ";Pooling=false";

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ServicesScript.RunAsync(_state, "stop", "postgres");
        Directory.Delete(_state, recursive: true);
    }

    /// <summary>A new empty database; the connection string to it (pooled, as a node's would be).</summary>
    public async Task<string> NewDatabaseAsync()
    {
        var name = "atalaya_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    /// <summary>Stops the server (open connections are cut), keeping its port and data.</summary>
    public Task PauseAsync() => ServicesScript.RunAsync(_state, "pause", "postgres");

    public Task ResumeAsync() => ServicesScript.RunAsync(_state, "resume", "postgres");

    /// <summary>Runs one query on <paramref name="connectionString"/>'s database and returns its first column.</summary>
    public static async Task<List<object?>> ColumnAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<object?>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.IsDBNull(0) ? null : reader.GetValue(0));
        }
        return values;
    }
}
