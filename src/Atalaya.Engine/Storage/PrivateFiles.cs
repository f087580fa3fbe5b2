namespace Atalaya.Engine.Storage;

/// <summary>
/// The data folder holds events with personal data, write keys' hashes and the audit log: only the
/// account running the hub may read it. Folders are 0700 and files 0600 whatever the process's
/// umask, set explicitly at creation (and tightened on a folder written by an older version).
/// SQLite creates its <c>-wal</c> and <c>-shm</c> files with the database file's mode, so making
/// the database file 0600 before SQLite first opens it covers them too.
/// </summary>
internal static class PrivateFiles
{
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the folder (and missing parents) 0700, or tightens an existing one to 0700.</summary>
    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        Directory.CreateDirectory(path, FolderMode);
        Restrict(path, FolderMode);
    }

    /// <summary>A stream over a new (or truncated) file that only the owner can read, whatever the umask.</summary>
    public static FileStream Create(string path, int bufferSize = 4096)
    {
        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = bufferSize,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }
        var stream = new FileStream(path, options);
        // An existing file keeps its mode when truncated: tighten it too.
        Restrict(path, FileMode);
        return stream;
    }

    /// <summary>Writes a small text file 0600.</summary>
    public static void WriteText(string path, string text)
    {
        using var stream = Create(path);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }

    /// <summary>
    /// Makes sure the database file exists 0600 before SQLite opens it (SQLite would create it 0644
    /// less the umask), and tightens the files of a folder written before this rule.
    /// </summary>
    public static void PrepareDataFolder(string dataDirectory, string databasePath)
    {
        CreateFolder(dataDirectory);
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        if (!File.Exists(databasePath))
        {
            // An empty file is a valid new SQLite database.
            using var created = new FileStream(databasePath, new FileStreamOptions
            {
                Mode = System.IO.FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = FileMode,
            });
        }
        foreach (var entry in new DirectoryInfo(dataDirectory).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            if (entry.LinkTarget is null)
            {
                Restrict(entry.FullName, entry is DirectoryInfo ? FolderMode : FileMode);
            }
        }
    }

    private static void Restrict(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        try
        {
            if ((File.GetUnixFileMode(path) & ~mode) != 0)
            {
                File.SetUnixFileMode(path, mode);
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or FileNotFoundException or DirectoryNotFoundException)
        {
            // Not ours (another account's folder opened read-only) or gone meanwhile: nothing to tighten.
        }
    }
}
