using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine;

/// <summary>
/// One open data folder: the database, the event log (with its dedupe index and store dimension
/// loaded), the FX table, the ingest pipeline and the tokens. The server, the CLI commands and
/// the tests all work through a Hub, so they share one way of opening and closing the store.
/// </summary>
public sealed class Hub : IAsyncDisposable
{
    private Hub(HubDatabase database, EventLog log, FxRateTable fx, IngestPipeline pipeline, TokenStore tokens)
    {
        Database = database;
        Log = log;
        Fx = fx;
        Pipeline = pipeline;
        Tokens = tokens;
    }

    public HubDatabase Database { get; }

    public EventLog Log { get; }

    public FxRateTable Fx { get; }

    public IngestPipeline Pipeline { get; }

    public TokenStore Tokens { get; }

    public static Hub Open(string dataDirectory, IngestOptions? options = null, TimeProvider? time = null, int? maxPageCount = null)
    {
        var database = HubDatabase.Open(dataDirectory, maxPageCount);
        FxRateTable fx;
        using (var connection = database.Connect())
        {
            fx = FxRateTable.Load(connection);
        }
        var log = EventLog.Open(database);
        var pipeline = new IngestPipeline(log, EventCatalog.Default, fx, options ?? new IngestOptions(), time);
        return new Hub(database, log, fx, pipeline, new TokenStore(database, time));
    }

    public async ValueTask DisposeAsync()
    {
        await Log.DisposeAsync().ConfigureAwait(false);
        Tokens.FlushLastUsed();
    }
}
