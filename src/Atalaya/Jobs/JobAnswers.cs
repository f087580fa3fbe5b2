using System.Text.Json;
using System.Text.Json.Serialization;
using Atalaya.Engine.Jobs;
using Atalaya.Http;

namespace Atalaya.Jobs;

/// <summary>One pipeline run; <c>details</c> is the JSON object the job stored with it.</summary>
internal sealed record RunView(
    string RunId, string Job, string SourceSystem, string StartTime, string? EndTime, string Status, long RecordsWritten,
    string? ErrorClass, string? ErrorMessage, string Trigger, JsonElement Details)
{
    public static RunView Of(PipelineRun run) => new(
        run.RunId, run.Job, run.SourceSystem, PipelineRuns.Iso(run.StartTime), Answers.Iso(run.EndTime), PipelineRuns.StatusName(run.Status),
        run.RecordsWritten, run.ErrorClass, run.ErrorMessage, run.Trigger, Answers.Stored(run.Details));
}

/// <summary>The answer of <c>GET /api/runs</c>: runs, newest first.</summary>
internal sealed record RunList(IReadOnlyList<RunView> Data);

/// <summary>One job: its schedule (cron, UTC), next run (null when it only runs by hand), whether it runs now, its last run.</summary>
internal sealed record JobView(
    string Job, string Description, string Schedule, string ScheduleKey, bool Scheduled, string? NextRun, bool Running, RunView? LastRun);

/// <summary>The answer of <c>GET /api/jobs</c>.</summary>
internal sealed record JobList(string Environment, IReadOnlyList<JobView> Data);

/// <summary>The answer of <c>POST /api/jobs/{name}/run</c> (202): the run started and where to follow it.</summary>
internal sealed record RunStarted(string RunId, string Job, string Status, string Check);

/// <summary>Source-generated JSON of the jobs and runs answers (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(RunList))]
[JsonSerializable(typeof(JobList))]
[JsonSerializable(typeof(RunStarted))]
internal sealed partial class JobsJson : JsonSerializerContext
{
    public static JobsJson Web { get; } = new(Answers.Options());
}
