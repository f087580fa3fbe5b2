using Atalaya.Engine.Postgres;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Postgres;

/// <summary>
/// What every store conformance class needs to run its tests on both backends: a data folder for
/// the SQLite side, a fresh PostgreSQL database for the other, and every state opened on it
/// disposed at the end. A test takes the backend's name from <see cref="Backends"/>.
/// </summary>
public abstract class BackendConformance(PostgresServer server, string folderName) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly List<PostgresState> _opened = [];

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    /// <summary>The SQLite side's data folder.</summary>
    protected TempDirectory Folder { get; } = new(folderName);

    /// <summary>The PostgreSQL side's connection string (a database of this test's own).</summary>
    protected string Postgres { get; private set; } = "";

    public async Task InitializeAsync() => Postgres = await server.NewDatabaseAsync();

    public Task DisposeAsync()
    {
        _opened.ForEach(s => s.Dispose());
        Folder.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A new state on the test's PostgreSQL database (another node), disposed with the test.</summary>
    protected PostgresState OpenState()
    {
        var state = PostgresState.Open(Postgres);
        _opened.Add(state);
        return state;
    }
}
