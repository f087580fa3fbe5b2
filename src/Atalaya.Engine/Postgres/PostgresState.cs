using Npgsql;
using Polly;
using Polly.CircuitBreaker;

namespace Atalaya.Engine.Postgres;

/// <summary>
/// The hub's shared state on a cluster (docs/scale-out.md, "Tokens in PostgreSQL"): one PostgreSQL
/// database every node and every CLI command given <c>--postgres</c> works on. Opening it checks the
/// connection string, reaches the server and applies the pending <see cref="PostgresMigrations"/>,
/// as <see cref="Storage.HubDatabase.Open"/> does for the data folder. The opener owns it and
/// disposes it after the hub that uses it.
/// </summary>
public sealed class PostgresState : IDisposable
{
    /// <summary>
    /// The advisory lock migrations hold: nodes starting together take turns, and each one after
    /// the first finds nothing left to apply. ("atalaya" in ASCII, any fixed number would do.)
    /// </summary>
    internal const long MigrationLock = 0x61_74_61_6c_61_79_61;

    private readonly NpgsqlDataSource _source;

    /// <summary>
    /// Half the calls of the last two seconds (two at least) failing to reach the server open the
    /// circuit for a second: meanwhile calls fail at once instead of each waiting out a connect
    /// timeout (behind a dropped network every request thread would wait 15 s); then one call tries again.
    /// </summary>
    private readonly ResiliencePipeline _breaker = new ResiliencePipelineBuilder().AddCircuitBreaker(new CircuitBreakerStrategyOptions
    {
        ShouldHandle = new PredicateBuilder().Handle<Exception>(IsUnavailable),
        FailureRatio = 0.5,
        MinimumThroughput = 2,
        SamplingDuration = TimeSpan.FromSeconds(2),
        BreakDuration = TimeSpan.FromSeconds(1),
    }).Build();

    /// <summary>The same server and login, unpooled: a session's lock must end with the session, not wait in a pool.</summary>
    private readonly string _sessionConnectionString;

    private PostgresState(NpgsqlDataSource source, string server, string sessionConnectionString)
    {
        _source = source;
        Server = server;
        _sessionConnectionString = sessionConnectionString;
    }

    /// <summary>Host, port and database, for messages (never the password).</summary>
    public string Server { get; }

    /// <summary>Opens the state and brings its schema up to date.</summary>
    /// <exception cref="PostgresStateException">The connection string is not one, the login is refused, or the schema is newer than this build.</exception>
    /// <exception cref="StateUnavailableException">The server cannot be reached.</exception>
    public static PostgresState Open(string connectionString)
    {
        var builder = Parse(connectionString);
        var state = new PostgresState(new NpgsqlDataSourceBuilder(builder.ConnectionString).Build(),
            $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username ?? "(default database)"}",
            new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false }.ConnectionString);
        try
        {
            state.Run(Migrate);
            return state;
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection. A server that cannot be reached (down,
    /// restarting, refusing connections) is a <see cref="StateUnavailableException"/>, which callers
    /// answer with 503 and Retry-After; the pool is emptied so that the next call connects afresh
    /// rather than trying each connection the outage broke.
    /// </summary>
    internal T Run<T>(Func<NpgsqlConnection, T> work) => Guard(() =>
    {
        using var connection = _source.OpenConnection();
        return work(connection);
    });

    private T Guard<T>(Func<T> call)
    {
        try
        {
            return _breaker.Execute(call);
        }
        catch (BrokenCircuitException e)
        {
            throw new StateUnavailableException($"PostgreSQL at {Server} cannot be reached (it could not be a moment ago; trying again within a second)", e);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            _source.Clear();
            throw new StateUnavailableException($"PostgreSQL at {Server} cannot be reached ({Reason(e)})", e);
        }
        catch (PostgresException e) when (e.SqlState.StartsWith("28", StringComparison.Ordinal) || e.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            throw new PostgresStateException(
                $"PostgreSQL at {Server} refused the login: {e.MessageText}. Check Username, Password and Database in the connection string (--postgres).", e);
        }
    }

    /// <summary>
    /// A connection of the caller's own, outside the pool, kept open for a session-level lock (a job's,
    /// the alert evaluator's): closing it ends the session and so drops the lock (a pooled one would
    /// keep the session alive). The caller disposes it; reaching the server fails as in <see cref="Run"/>.
    /// </summary>
    /// <exception cref="StateUnavailableException">The server cannot be reached.</exception>
    internal NpgsqlConnection OpenSession() => Guard(() =>
    {
        var connection = new NpgsqlConnection(_sessionConnectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    });

    public void Dispose() => _source.Dispose();

    private static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        const string Example = "Host=127.0.0.1;Port=5432;Username=atalaya;Password=…;Database=atalaya";
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new PostgresStateException($"the PostgreSQL connection string is empty; write it like {Example}.");
        }
        if (connectionString.Contains("://", StringComparison.Ordinal))
        {
            throw new PostgresStateException($"give the PostgreSQL connection as keywords, not a URL: {Example}.");
        }
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // The message names the keyword at fault; the string itself is not repeated (it may hold a password).
            throw new PostgresStateException($"not a PostgreSQL connection string ({e.Message.Split('\n')[0]}); write it like {Example}.", e);
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new PostgresStateException($"the PostgreSQL connection string names no Host; write it like {Example}.");
        }
        return builder;
    }

    /// <summary>Applies the steps after the stored schema version, one transaction under the migration lock.</summary>
    private static int Migrate(NpgsqlConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLock});");
        Execute(connection, transaction, """
            CREATE TABLE IF NOT EXISTS schema_version (
                version    integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """);
        using var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version;", connection, transaction);
        var current = (int)read.ExecuteScalar()!;
        if (current > PostgresMigrations.Steps.Count)
        {
            throw new PostgresStateException(
                $"the PostgreSQL state is at schema version {current}, newer than this atalaya knows ({PostgresMigrations.Steps.Count}); run the newer atalaya, or point --postgres at another database.");
        }
        for (var version = current + 1; version <= PostgresMigrations.Steps.Count; version++)
        {
            Execute(connection, transaction, PostgresMigrations.Steps[version - 1]);
            Execute(connection, transaction, $"INSERT INTO schema_version (version) VALUES ({version});");
        }
        transaction.Commit();
        return PostgresMigrations.Steps.Count - current;
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// A failure of reaching the server rather than of the statement: the network (refused, reset,
    /// timed out: NpgsqlException without a server error), or the server saying it is shutting
    /// down, starting or full.
    /// </summary>
    internal static bool IsUnavailable(Exception e) => e switch
    {
        PostgresException server => server.SqlState.StartsWith("08", StringComparison.Ordinal)
            || server.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections,
        NpgsqlException => true,
        _ => false,
    };

    private static string Reason(Exception e) => e is PostgresException server ? server.MessageText : (e.InnerException ?? e).Message;
}

/// <summary>The shared state cannot be reached right now: the request may succeed later (HTTP answers 503 with Retry-After).</summary>
public sealed class StateUnavailableException(string message, Exception inner) : Exception(message, inner)
{
    /// <summary>Which shared store could not be reached, for an answer that may go to anyone (no address): PostgreSQL, or ClickHouse for a search of the cluster's events.</summary>
    public string Store { get; init; } = "PostgreSQL";
}

/// <summary>The shared state is set up wrong (connection string, login, schema): it will not work until that is fixed.</summary>
public sealed class PostgresStateException : Exception
{
    public PostgresStateException(string message)
        : base(message)
    {
    }

    public PostgresStateException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
