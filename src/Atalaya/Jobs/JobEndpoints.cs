using System.Globalization;
using Atalaya.Access;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Http;

namespace Atalaya.Jobs;

/// <summary>
/// Operations endpoints of the scheduler (docs/metrics-api.md): <c>GET /api/runs</c> (pipeline runs,
/// filtered by job, status and date), <c>GET /api/jobs</c> (each job, its schedule, next and last
/// run) for admin and analyst tokens, and <c>POST /api/jobs/{name}/run</c> for admins. Every call
/// is audited.
/// </summary>
public static class JobEndpoints
{
    private static readonly Role[] Readers = [Role.Admin, Role.Analyst];

    private const string ReadersOnly = "Pipeline runs and jobs are operations data for admin and analyst tokens";

    public static IEndpointRouteBuilder MapJobs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/runs", (HttpContext c, HubState s, ServeOptions o) => AccessEndpoints.OperationAsync(c, s, ["job", "status", "date", "start_date", "end_date", "limit"], Readers, ReadersOnly, (hub, _) =>
        {
            var filter = ParseFilter(c.Request.Query, JobCatalog.All(o.Config));
            var runs = hub.Jobs.Runs.Query(filter);
            return (Answers.Bytes(new RunList([.. runs.Select(RunView.Of)]), JobsJson.Web.RunList), runs.Count, StatusCodes.Status200OK, null);
        })).WithName("Runs").WithTags("Jobs").Produces<RunList>().Refusals()
            .WithSummary("Pipeline runs, newest first: job, status (running, success, partial, failed), date (YYYY-MM-DD, UTC start day) or start_date/end_date, limit (1–10000, default 100). Admin and analyst.")
            .QueryParameters(
                ("job", "Job name (see /api/jobs)."), ("status", "running, success, partial or failed."), ("date", "Runs started on this UTC day (YYYY-MM-DD)."),
                ("start_date", "Runs started on or after this UTC day."), ("end_date", "Runs started on or before this UTC day."), ("limit", "1–10000, default 100."));

        app.MapGet("/api/jobs", (HttpContext c, HubState s, ServeOptions o) => AccessEndpoints.OperationAsync(c, s, [], Readers, ReadersOnly, (hub, _) =>
        {
            var config = o.Config;
            var now = hub.Kpis.Time.GetUtcNow();
            var jobs = JobCatalog.All(config);
            var views = jobs.Select(job =>
            {
                var cron = config.Schedules[job.ScheduleKey];
                var next = job.Scheduled ? PipelineRuns.Iso(new DateTimeOffset(EnvironmentConfig.ParseCron(cron)!.GetNextOccurrence(now.UtcDateTime), TimeSpan.Zero)) : null;
                var last = hub.Jobs.Runs.Query(new RunFilter(Job: job.Name, Limit: 1)) is [var run, ..] ? RunView.Of(run) : null;
                return new JobView(job.Name, job.Description, cron, job.ScheduleKey, job.Scheduled, next, hub.Jobs.Locks.IsHeld(job.LockName), last);
            });
            return (Answers.Bytes(new JobList(config.Environment, [.. views]), JobsJson.Web.JobList), jobs.Count, StatusCodes.Status200OK, null);
        })).WithName("Jobs").WithTags("Jobs").Produces<JobList>().Refusals().WithSummary("Every job: its schedule (cron, UTC), next run, whether it is running, its last run. Admin and analyst.");

        app.MapPost("/api/jobs/backfill/run", (HttpContext c, HubState s, JobService jobs) =>
            AccessEndpoints.OperationAsync(c, s, ["start_date", "end_date", "store", "app", "source", "dry_run"], [Role.Admin], "Only admin tokens run jobs", (hub, _) =>
            {
                var (definition, sources, dryRun) = ParseBackfill(c.Request.Query, hub);
                var (started, _, busyWith) = jobs.Start(definition, dryRun ? "manual dry-run" : "manual", sources);
                if (started is null)
                {
                    throw new BodyException(StatusCodes.Status409Conflict,
                        $"The marts are being written by {busyWith}; wait for it to end (GET /api/runs?status=running), then start the backfill again.");
                }
                var body = Answers.Bytes(new RunStarted(started.RunId, JobCatalog.Backfill, "running", $"/api/runs?job={JobCatalog.Backfill}"), JobsJson.Web.RunStarted);
                return (body, 1, StatusCodes.Status202Accepted, KpiJson.Text(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("job", JobCatalog.Backfill);
                    w.WriteString("range", definition.Description);
                    w.WriteString("run_id", started.RunId);
                    w.WriteEndObject();
                }));
            })).WithName("RunBackfill").WithTags("Jobs").Produces<RunStarted>(StatusCodes.Status202Accepted).Refusals(StatusCodes.Status409Conflict)
            .WithSummary("Recompute the marts for a range of closed days from the hub's events (on a cluster node: the cluster's events, into its PostgreSQL) and merge them in; "
                + "start_date and end_date (YYYY-MM-DD, UTC, at the latest yesterday) are required; store (daily_metrics, product_metrics, customer_metrics) or app and source (fact_kpi_daily) limit it, comma lists; "
                + "dry_run=true changes nothing and says in the run's details what would change. "
                + "202 with its run_id; 409 while another run writes the marts, on any node. Admin only.")
            .QueryParameters(
                ("start_date", "First UTC day (YYYY-MM-DD)."), ("end_date", "Last UTC day, inclusive; at the latest yesterday."),
                ("store", "Only these stores (comma list): the store marts."), ("app", "Only these app ids (comma list): fact_kpi_daily."),
                ("source", "Only these source systems (comma list): fact_kpi_daily."),
                ("dry_run", "true: compute into shadow_* tables and record what would change in the run's details; change nothing. Default false."));

        app.MapPost("/api/jobs/{name}/run", (HttpContext c, HubState s, ServeOptions o, JobService jobs, string name) =>
            AccessEndpoints.OperationAsync(c, s, [], [Role.Admin], "Only admin tokens run jobs", (hub, _) =>
            {
                if (JobCatalog.Find(o.Config, name) is null)
                {
                    throw new BodyException(StatusCodes.Status404NotFound, $"No job '{name}'; jobs: {JobCatalog.Names(o.Config)}.");
                }
                var (started, _, busyWith) = jobs.Start(name, "manual");
                if (started is null)
                {
                    throw new BodyException(StatusCodes.Status409Conflict, $"{name} is already running ({busyWith}); see GET /api/runs?job={name}&status=running.");
                }
                var body = Answers.Bytes(new RunStarted(started.RunId, name, "running", $"/api/runs?job={name}"), JobsJson.Web.RunStarted);
                return (body, 1, StatusCodes.Status202Accepted, KpiJson.Text(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("job", name);
                    w.WriteString("run_id", started.RunId);
                    w.WriteEndObject();
                }));
            })).WithName("RunJob").WithTags("Jobs").Produces<RunStarted>(StatusCodes.Status202Accepted).Refusals(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict)
            .WithSummary("Start a run of a job now (202 with its run_id; 409 when it is already running, here or in another process). Admin only.");
        return app;
    }

    private static RunFilter ParseFilter(IQueryCollection query, IReadOnlyList<JobDefinition> jobs)
    {
        string? job = null;
        if (query.TryGetValue("job", out var j))
        {
            job = jobs.Any(d => d.Name == j.ToString()) || j.ToString() == JobCatalog.Backfill ? j.ToString()
                : throw new BodyException(StatusCodes.Status400BadRequest, $"job: unknown job '{j}'; allowed: {string.Join(", ", jobs.Select(d => d.Name).Append(JobCatalog.Backfill))}");
        }
        RunStatus? status = null;
        if (query.TryGetValue("status", out var st))
        {
            status = PipelineRuns.TryParseStatus(st.ToString(), out var parsed) ? parsed
                : throw new BodyException(StatusCodes.Status400BadRequest, $"status: '{st}' is not one of running, success, partial, failed");
        }
        var date = Date(query, "date");
        if (date is not null && (query.ContainsKey("start_date") || query.ContainsKey("end_date")))
        {
            throw new BodyException(StatusCodes.Status400BadRequest, "date: give either date or start_date/end_date, not both");
        }
        var from = date ?? Date(query, "start_date");
        var to = date ?? Date(query, "end_date");
        if (from > to)
        {
            throw new BodyException(StatusCodes.Status400BadRequest, $"start_date: {from:yyyy-MM-dd} is after end_date {to:yyyy-MM-dd}");
        }
        var limit = 100;
        if (query.TryGetValue("limit", out var l))
        {
            limit = int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 10_000 ? n
                : throw new BodyException(StatusCodes.Status400BadRequest, "limit: must be a whole number from 1 to 10000");
        }
        return new RunFilter(job, status, from, to, limit);
    }

    /// <summary>A backfill's range and filter from the query, or a 400 naming what is wrong; with the source systems its run is recorded under.</summary>
    private static (JobDefinition Definition, string Sources, bool DryRun) ParseBackfill(IQueryCollection query, Engine.Hub hub)
    {
        var dryRun = !query.TryGetValue("dry_run", out var d) ? false
            : d.ToString() switch
            {
                "true" => true,
                "false" => false,
                _ => throw new BodyException(StatusCodes.Status400BadRequest, $"dry_run: '{d}' is not true or false"),
            };
        var from = Date(query, "start_date") ?? throw new BodyException(StatusCodes.Status400BadRequest, "start_date is required (YYYY-MM-DD): the first day to recompute");
        var to = Date(query, "end_date") ?? throw new BodyException(StatusCodes.Status400BadRequest, "end_date is required (YYYY-MM-DD): the last day to recompute, at the latest yesterday");
        if (from > to)
        {
            throw new BodyException(StatusCodes.Status400BadRequest, $"start_date: {from:yyyy-MM-dd} is after end_date {to:yyyy-MM-dd}");
        }
        var yesterday = DateOnly.FromDateTime(hub.Kpis.Time.GetUtcNow().UtcDateTime).AddDays(-1);
        if (to > yesterday)
        {
            throw new BodyException(StatusCodes.Status400BadRequest, $"end_date: {to:yyyy-MM-dd} is not a closed day; the marts hold days up to yesterday ({yesterday:yyyy-MM-dd}, UTC)");
        }
        var filters = new Dictionary<Engine.Catalog.Dimension, IReadOnlyList<string>>();
        foreach (var (name, dimension) in new[] { ("store", Engine.Catalog.Dimension.StoreId), ("app", Engine.Catalog.Dimension.AppId), ("source", Engine.Catalog.Dimension.SourceSystem) })
        {
            if (query.TryGetValue(name, out var v))
            {
                var values = v.ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                filters[dimension] = values.Length > 0 ? values
                    : throw new BodyException(StatusCodes.Status400BadRequest, $"{name}: give one or more values, comma separated, or leave it out");
            }
        }
        if (filters.ContainsKey(Engine.Catalog.Dimension.StoreId) && filters.Count > 1)
        {
            throw new BodyException(StatusCodes.Status400BadRequest,
                "store limits the store marts and app/source limit fact_kpi_daily: no mart has both; run one backfill with store and another with app or source");
        }
        var sources = filters.TryGetValue(Engine.Catalog.Dimension.SourceSystem, out var systems) ? string.Join(",", systems) : "all";
        return (JobCatalog.RangeBackfill(from, to, new Engine.Kpi.Query.DimensionFilter(filters), apply: !dryRun), sources, dryRun);
    }

    private static DateOnly? Date(IQueryCollection query, string name) =>
        !query.TryGetValue(name, out var v) ? null
        : DateOnly.TryParseExact(v.ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? KpiParameters.InRange(name, d)
        : throw new BodyException(StatusCodes.Status400BadRequest, $"{name}: '{v}' is not a date; use YYYY-MM-DD");
}
