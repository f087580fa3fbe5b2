namespace Atalaya.Engine.Jobs;

/// <summary>
/// One instance of a job at a time (per lock name) across every process that shares the job's
/// state: a file lock in the data folder (<see cref="FileJobLocks"/>), or, on a cluster, an
/// advisory lock in PostgreSQL that every node takes (<see cref="PostgresJobLocks"/>). Either is
/// released by its holder's end, crash or kill included, so a dead holder never blocks the next run.
/// </summary>
public interface IJobLocks
{
    /// <summary>Takes the lock for the run described by <paramref name="holder"/>; null, with who holds it, when another run has it.</summary>
    IDisposable? TryTake(string name, string holder, out string? heldBy);

    /// <summary>Whether some run, here or in another process, holds the lock right now.</summary>
    bool IsHeld(string name);
}

/// <summary>The data folder's <see cref="JobLock"/> files.</summary>
internal sealed class FileJobLocks(string dataDirectory) : IJobLocks
{
    public IDisposable? TryTake(string name, string holder, out string? heldBy) => JobLock.TryTake(dataDirectory, name, holder, out heldBy);

    public bool IsHeld(string name) => JobLock.IsHeld(dataDirectory, name);
}
