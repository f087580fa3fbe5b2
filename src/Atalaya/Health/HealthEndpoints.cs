using System.Text.Json.Serialization;
using Atalaya.Http;

namespace Atalaya.Health;

/// <summary>Liveness (<c>/healthz</c>: the process answers) and readiness (<c>/readyz</c>: the store is open).</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Json(new HealthResponse("ok", null), ProbeJson.Web.HealthResponse))
            .WithTags("Health").WithSummary("Liveness: the process is up.");
        app.MapGet("/readyz", (HubState state) => state.Current is { } hub
                ? Results.Json(new HealthResponse("ready", hub.Log.EventCount), ProbeJson.Web.HealthResponse)
                : Results.Json(new HealthResponse("starting", null), ProbeJson.Web.HealthResponse, statusCode: StatusCodes.Status503ServiceUnavailable))
            .WithTags("Health").WithSummary("Readiness: the event store is open and its dedupe index loaded.");
        return app;
    }
}

public sealed record HealthResponse(string Status, long? Events);

/// <summary>Source-generated JSON of the probes' answers; a starting server leaves its event count out.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HealthResponse))]
internal sealed partial class ProbeJson : JsonSerializerContext
{
    public static ProbeJson Web { get; } = new(Answers.Options(omitNulls: true));
}
