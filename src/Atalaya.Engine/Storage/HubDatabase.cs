using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Storage;

/// <summary>
/// The embedded store: one SQLite file (<c>atalaya.db</c>) in the data folder, in WAL mode with
/// <c>synchronous=FULL</c> so that a committed transaction survives a process crash and a power
/// loss. Every connection is opened through here so that pragmas and migrations are applied once,
/// the same way, by the server and by every CLI command that shares the folder.
/// </summary>
public sealed class HubDatabase
{
    public const string FileName = "atalaya.db";

    public HubDatabase(string dataDirectory, int? maxPageCount = null)
    {
        DataDirectory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(DataDirectory);
        FilePath = Path.Combine(DataDirectory, FileName);
        MaxPageCount = maxPageCount;
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string DataDirectory { get; }

    public string FilePath { get; }

    public string ConnectionString { get; }

    /// <summary>Caps the file size (pages of 4 KiB); lets tests provoke a full disk.</summary>
    public int? MaxPageCount { get; }

    /// <summary>Opens a connection and applies pending migrations.</summary>
    public static HubDatabase Open(string dataDirectory, int? maxPageCount = null)
    {
        var database = new HubDatabase(dataDirectory, maxPageCount);
        using var connection = database.Connect();
        Migrations.Apply(connection);
        return database;
    }

    public SqliteConnection Connect()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA busy_timeout = 30000;
            PRAGMA foreign_keys = ON;
            PRAGMA temp_store = MEMORY;
            """;
        pragma.ExecuteNonQuery();
        if (MaxPageCount is int pages)
        {
            pragma.CommandText = $"PRAGMA max_page_count = {pages};";
            pragma.ExecuteNonQuery();
        }
        return connection;
    }
}
