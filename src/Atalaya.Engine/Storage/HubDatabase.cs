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
        FilePath = Path.Combine(DataDirectory, FileName);
        PrivateFiles.PrepareDataFolder(DataDirectory, FilePath);
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

    /// <summary>Caps the file size (pages of 16 KiB); lets tests provoke a full disk.</summary>
    public int? MaxPageCount { get; }

    /// <summary>Opens a connection and applies pending migrations.</summary>
    public static HubDatabase Open(string dataDirectory, int? maxPageCount = null)
    {
        var database = new HubDatabase(dataDirectory, maxPageCount);
        using var connection = database.Connect();
        Migrations.Apply(connection);
        return database;
    }

    /// <summary>
    /// Adds the SQL functions the schema uses (<c>atalaya_decode</c>, behind the
    /// <c>raw_events</c> view) to a connection; call it on any connection opened elsewhere.
    /// <c>atalaya_inflate</c> is the older view's (schema 2 to 4) and stays for a folder whose
    /// migration to 5 has not run yet on this connection.
    /// </summary>
    public static void RegisterFunctions(SqliteConnection connection)
    {
        connection.CreateFunction("atalaya_decode", (string encoding, byte[] blob) =>
            System.Text.Encoding.UTF8.GetString(BlockCodec.Decode(encoding, blob)), isDeterministic: true);
        connection.CreateFunction("atalaya_inflate", (byte[] blob) =>
            System.Text.Encoding.UTF8.GetString(BlockCodec.Decode(BlockCodec.Deflate, blob)), isDeterministic: true);
    }

    public SqliteConnection Connect()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        RegisterFunctions(connection);
        using var pragma = connection.CreateCommand();
        // 16 KiB pages: an event block (megabytes) spans a quarter of the overflow pages and WAL
        // frames it would at 4 KiB, which measured ~3x faster appends (docs/benchmarks.md). Only
        // takes effect when the file is created. A 64 MB WAL between checkpoints keeps the copy
        // from WAL to the database file in large sequential runs.
        pragma.CommandText = """
            PRAGMA page_size = 16384;
            PRAGMA journal_mode = WAL;
            PRAGMA wal_autocheckpoint = 4000;
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
