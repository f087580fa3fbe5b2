using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Slo;
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
                SloStore.Add(hub.Database, recorder.Drain());
                var to = o.Time.GetUtcNow();
                var from = to.AddDays(-30);
                var statuses = SloStore.Status(hub.Database, from, to.AddHours(1));
                return (KpiJson.Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("from", PipelineRuns.Iso(from));
                    w.WriteString("to", PipelineRuns.Iso(to));
                    w.WriteStartArray("data");
                    foreach (var st in statuses)
                    {
                        SloReport.Write(w, st, withDescription: true);
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }), statuses.Count, StatusCodes.Status200OK, null);
            })).WithName("Slo").WithTags("Operations")
            .WithSummary("Service-level objectives over the last 30 days: collector availability, ingest-to-visible latency, KPI freshness, read latency; attainment, error budget remaining, met. Admin and analyst.");
        return app;
    }
}
