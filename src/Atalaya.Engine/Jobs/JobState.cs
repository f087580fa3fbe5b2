using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Jobs;

/// <summary>
/// Where jobs record their runs and take their locks: the data folder (the embedded hub), or the
/// cluster's PostgreSQL, shared by every node (<c>serve --postgres</c>), so a job runs once across
/// nodes and every node lists every run.
/// </summary>
public sealed record JobState(IRunRows Runs, IJobLocks Locks)
{
    public static JobState Embedded(HubDatabase database) => new(new SqliteRunRows(database), new FileJobLocks(database.DataDirectory));

    public static JobState Shared(PostgresState state) => new(new PostgresRunRows(state), new PostgresJobLocks(state)) { Postgres = state };

    /// <summary>The cluster's PostgreSQL when the state is shared (the marts live there too), else null.</summary>
    public PostgresState? Postgres { get; init; }
}
