using Atalaya.Http;

namespace Atalaya.Health;

/// <summary>Liveness (<c>/healthz</c>: the process answers) and readiness (<c>/readyz</c>: the store is open).</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Json(new HealthResponse("ok", null), AtalayaJson.Web.HealthResponse))
            .WithTags("Health").WithSummary("Liveness: the process is up.");
        app.MapGet("/readyz", (HubState state) => state.Current is { } hub
                ? Results.Json(new HealthResponse("ready", hub.Log.EventCount), AtalayaJson.Web.HealthResponse)
                : Results.Json(new HealthResponse("starting", null), AtalayaJson.Web.HealthResponse, statusCode: StatusCodes.Status503ServiceUnavailable))
            .WithTags("Health").WithSummary("Readiness: the event store is open and its dedupe index loaded.");
        return app;
    }
}

public sealed record HealthResponse(string Status, long? Events);
