using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Engine.Jobs;
using Atalaya.Http;
using Atalaya.Metrics;

namespace Atalaya.Slo;

/// <summary><c>GET /api/slo</c>: each objective's attainment and error budget over the last 30 days (docs/slo.md). Admin and analyst; audited.</summary>
public static class SloEndpoints
{
    public static IEndpointRouteBuilder MapSlo(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/slo", (HttpContext c, HubState s, ServeOptions o, SloRecorder recorder) => AccessEndpoints.OperationAsync(c, s, [], [Role.Admin, Role.Analyst],
            "Service-level objectives are operations data for admin and analyst tokens", (hub, _) =>
            {
                // What was counted since the last minute's flush is included.
                recorder.SaveTo(hub.SloRows);
                var to = o.Time.GetUtcNow();
                var from = to.AddDays(-30);
                var statuses = hub.SloRows.Status(from, to.AddHours(1));
                var answer = new SloAnswer(PipelineRuns.Iso(from), PipelineRuns.Iso(to), [.. statuses.Select(SloView.Of)]);
                return (Answers.Bytes(answer, SloJson.Web.SloAnswer), statuses.Count, StatusCodes.Status200OK, null);
            })).WithName("Slo").WithTags("Operations").Produces<SloAnswer>().Refusals()
            .WithSummary("Service-level objectives over the last 30 days: collector availability, ingest-to-visible latency, KPI freshness, read latency; attainment, error budget remaining, met. Admin and analyst.");
        return app;
    }
}
