using Atalaya.Access;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Quality;
using Atalaya.Http;

namespace Atalaya.Quality;

/// <summary>
/// <c>GET /api/quality</c> (docs/metrics-api.md): the findings of the newest data-quality run (or of the run
/// named by <c>run_id</c>), worst first, optionally only some checks or statuses. Operations data
/// like the pipeline runs: admin and analyst tokens, every call audited.
/// </summary>
public static class QualityEndpoints
{
    private static readonly Role[] Readers = [Role.Admin, Role.Analyst];

    public static IEndpointRouteBuilder MapQuality(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/quality", (HttpContext c, HubState s) => AccessEndpoints.OperationAsync(c, s, ["check", "status", "run_id"], Readers,
            "Data-quality results are operations data for admin and analyst tokens", (hub, _) =>
            {
                var query = c.Request.Query;
                var checks = List(query, "check", QualityResults.Checks);
                var statuses = List(query, "status", ["ok", "warn", "fail", "skipped"])?
                    .Select(t => QualityResult.TryParseStatus(t, out var st) ? st : default).ToHashSet();
                var runId = query.TryGetValue("run_id", out var r) ? r.ToString() : hub.QualityResults.LatestRun();
                var all = runId is null ? [] : hub.QualityResults.Read(runId);
                if (all.Count == 0 && runId is not null)
                {
                    throw new BodyException(StatusCodes.Status404NotFound, $"run_id: no data-quality results for '{runId}'; see GET /api/runs?job={JobCatalog.QualityJob}.");
                }
                var shown = all.Where(x => (checks is null || checks.Contains(x.Check)) && (statuses is null || statuses.Contains(x.Status))).ToList();
                // The run's overall status and counts are over every finding, whatever the filters show.
                var counts = Enum.GetValues<QualityStatus>().ToDictionary(QualityResult.StatusName, st => all.Count(x => x.Status == st));
                var answer = runId is null
                    ? new QualityAnswer(null, null, null, counts, [])
                    : new QualityAnswer(runId, PipelineRuns.Iso(all[0].CheckedAt), QualityResult.StatusName(QualityResults.Worst(all)), counts, [.. shown.Select(QualityFinding.Of)]);
                return (Answers.Bytes(answer, QualityJson.Web.QualityAnswer), shown.Count, StatusCodes.Status200OK, null);
            })).WithName("Quality").WithTags("Quality").Produces<QualityAnswer>().Refusals(StatusCodes.Status404NotFound)
            .WithSummary("Data-quality findings of the newest dq_health run (or run_id), worst first: freshness, mart_freshness, null_rate, volume, schema_drift, consistency, quarantine, pipeline; status ok, warn, fail or skipped. Admin and analyst.")
            .QueryParameters(
                ("check", "Comma list of checks: " + string.Join(", ", QualityResults.Checks) + "."),
                ("status", "Comma list of statuses: ok, warn, fail, skipped."),
                ("run_id", "A dq_health run (see /api/runs?job=dq_health); default the newest."));
        return app;
    }

    private static HashSet<string>? List(IQueryCollection query, string name, IReadOnlyList<string> allowed)
    {
        if (!query.TryGetValue(name, out var v))
        {
            return null;
        }
        var items = v.ToString().Split(',', StringSplitOptions.TrimEntries);
        foreach (var item in items)
        {
            if (!allowed.Contains(item))
            {
                throw new BodyException(StatusCodes.Status400BadRequest, $"{name}: '{item}' is not one of {string.Join(", ", allowed)}");
            }
        }
        return [.. items];
    }
}
