using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Http;

namespace Atalaya.Metrics;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text format for admin and analyst tokens (Prometheus sends
/// the token with <c>authorization: {credentials: …}</c>; see deploy/prometheus). Scrapes are not
/// written to the audit log: Prometheus calls every 15 s and the answer holds no row of anyone's data.
/// </summary>
public static class MetricsEndpoints
{
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", async (HttpContext context, HubState state, HubMetrics metrics) =>
        {
            try
            {
                var hub = state.Require();
                var token = ReadAccess.Check(hub.Tokens, context.Request);
                if (token.Role is not (Role.Admin or Role.Analyst))
                {
                    throw new BodyException(StatusCodes.Status403Forbidden, $"/metrics is for admin and analyst tokens; this is a {Roles.Name(token.Role)} token.");
                }
            }
            catch (BodyException e)
            {
                return ReadCall.Error(e.StatusCode, e.Message);
            }
            using var buffer = new MemoryStream();
            await metrics.Registry.CollectAndExportAsTextAsync(buffer, context.RequestAborted);
            return Results.Bytes(buffer.ToArray(), "text/plain; version=0.0.4; charset=utf-8");
        }).ExcludeFromDescription(); // Prometheus text, not a JSON API: documented in docs/alerts.md.
        return app;
    }
}
