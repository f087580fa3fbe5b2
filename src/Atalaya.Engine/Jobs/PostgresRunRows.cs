using Atalaya.Engine.Postgres;

namespace Atalaya.Engine.Jobs;

/// <summary>
/// Run rows in a cluster's PostgreSQL (<c>--postgres</c>): every node records its runs there and
/// every node's <c>/api/runs</c> lists them all. A server that cannot be reached is a
/// <see cref="StateUnavailableException"/>.
/// </summary>
internal sealed class PostgresRunRows(PostgresState state) : IRunRows
{
    public void Start(PipelineRun run) => state.Run(connection =>
    {
        RunRow.Insert(connection, run);
        return 0;
    });

    public void Finish(string runId, DateTimeOffset end, RunStatus status, long records, string? error, string details) => state.Run(connection =>
    {
        RunRow.Update(connection, runId, end, status, records, error, details);
        return 0;
    });

    public bool FailIfRunning(string runId, DateTimeOffset end, string error) =>
        state.Run(connection => RunRow.FailIfRunning(connection, runId, end, error));

    public void SetErrorClass(string runId, string? errorClass) => state.Run(connection =>
    {
        RunRow.SetErrorClass(connection, runId, errorClass);
        return 0;
    });

    public IReadOnlyList<PipelineRun> Query(RunFilter filter) => state.Run(connection => RunRow.Query(connection, filter));

    public PipelineRun? Get(string runId) => state.Run(connection => RunRow.Get(connection, runId));

    public IReadOnlyDictionary<string, DateTimeOffset> LastSuccesses() => state.Run(connection => RunRow.LastSuccesses(connection));
}
