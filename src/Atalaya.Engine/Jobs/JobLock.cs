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

    /// <summary>Takes the lock, or returns null with who holds it when another run has it.</summary>
    public static JobLock? TryTake(string dataDirectory, string name, string holder, out string? heldBy)
    {
        var path = PathOf(dataDirectory, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            // FileShare.None is an exclusive lock on every platform .NET runs on (flock on Unix).
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            // Who holds it goes in a file beside: the lock file itself cannot be read while held.
            File.WriteAllText(path + ".holder", $"{holder}, pid {Environment.ProcessId}, since {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n");
            heldBy = null;
            return new JobLock(file);
        }
        catch (IOException)
        {
            heldBy = ReadHolder(path);
            return null;
        }
    }

    /// <summary>Whether some run holds the lock right now (this process or another).</summary>
    public static bool IsHeld(string dataDirectory, string name)
    {
        using var taken = TryTake(dataDirectory, name, "probe", out _);
        return taken is null;
    }

    private static string ReadHolder(string path)
    {
        try
        {
            var line = File.ReadLines(path + ".holder").FirstOrDefault();
            return string.IsNullOrWhiteSpace(line) ? "another run" : line.Trim();
        }
        catch (IOException)
        {
            return "another run";
        }
    }

    public void Dispose() => _file.Dispose();
}
