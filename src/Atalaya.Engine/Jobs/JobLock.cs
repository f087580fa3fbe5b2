namespace Atalaya.Engine.Jobs;

/// <summary>
/// One instance of a job at a time, also across processes sharing the data folder (a <c>serve</c>
/// and an <c>atalaya jobs run</c>, or two servers): an exclusive OS file lock on
/// <c>DATA/locks/NAME.lock</c>. The operating system releases it when the holder exits, crash or
/// SIGKILL included, so a dead holder never blocks the next run. <c>NAME.lock.holder</c> says who holds it,
/// for the error message of whoever is refused.
/// </summary>
public sealed class JobLock : IDisposable
{
    private readonly FileStream _file;

    private JobLock(FileStream file) => _file = file;

    public static string PathOf(string dataDirectory, string name) => Path.Combine(dataDirectory, "locks", name + ".lock");

    /// <summary>
    /// Takes the lock, or returns null with who holds it when another run has it. A few short
    /// retries ride over <see cref="IsHeld"/>'s momentary probes, so a probe never makes a real run
    /// be refused.
    /// </summary>
    public static JobLock? TryTake(string dataDirectory, string name, string holder, out string? heldBy)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (Open(dataDirectory, name) is { } file)
            {
                // Who holds it goes in a file beside: the lock file itself cannot be read while held.
                Storage.PrivateFiles.WriteText(PathOf(dataDirectory, name) + ".holder", $"{holder}, pid {Environment.ProcessId}, since {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n");
                heldBy = null;
                return new JobLock(file);
            }
            if (attempt == 4)
            {
                heldBy = ReadHolder(PathOf(dataDirectory, name) + ".holder");
                return null;
            }
            Thread.Sleep(25);
        }
    }

    /// <summary>Whether some run holds the lock right now (this process or another). Takes it for an instant when free, and leaves the holder file alone.</summary>
    public static bool IsHeld(string dataDirectory, string name)
    {
        using var file = Open(dataDirectory, name);
        return file is null;
    }

    private static FileStream? Open(string dataDirectory, string name)
    {
        var path = PathOf(dataDirectory, name);
        Storage.PrivateFiles.CreateFolder(Path.GetDirectoryName(path)!);
        try
        {
            // FileShare.None is an exclusive lock on every platform .NET runs on (flock on Unix).
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 1 };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = Storage.PrivateFiles.FileMode;
            }
            return new FileStream(path, options);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string ReadHolder(string holderPath)
    {
        try
        {
            var line = File.ReadLines(holderPath).FirstOrDefault();
            return string.IsNullOrWhiteSpace(line) ? "another run" : line.Trim();
        }
        catch (IOException)
        {
            return "another run";
        }
    }

    public void Dispose() => _file.Dispose();
}
