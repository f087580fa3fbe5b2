using Atalaya.Engine.Collect;
using Atalaya.Engine.Storage;
using Atalaya.Http;
using Microsoft.Net.Http.Headers;

namespace Atalaya.Collect;

/// <summary>
/// The collector's HTTP surface (docs/collector.md): native <c>POST /api/events</c> and the
/// Segment-compatible <c>/v1/*</c> calls. Each request: content type → write key → rate limit →
/// body (size limit, gzip) → pipeline → answer. A readable request is a 200 with each event's
/// outcome, every accepted event committed before it; a store that cannot commit answers 503 with
/// Retry-After. Bad input never produces a 5xx.
/// </summary>
public static class CollectEndpoints
{
    /// <summary>The logger category of the collector.</summary>
    public sealed class CollectorLog;

    private static readonly string[] SegmentCalls = ["track", "page", "screen", "identify", "group", "alias"];

    public static IEndpointRouteBuilder MapCollect(this IEndpointRouteBuilder endpoints)
    {
        // Browser SDKs post from the shop's own origin.
        var app = endpoints.MapGroup("").RequireCors("collector");
        app.MapPost("/api/events", NativeAsync)
            .WithName("CollectEvents").WithTags("Collect")
            .WithSummary("Send native events: one object, a JSON array, or NDJSON (write key as Bearer).");
        app.MapPost("/v1/batch", (HttpContext context, CancellationToken ct) => SegmentAsync(context, null, ct))
            .WithName("SegmentBatch").WithTags("Collect").WithSummary("Segment-compatible batch.");
        app.MapPost("/v1/b", (HttpContext context, CancellationToken ct) => SegmentAsync(context, null, ct))
            .ExcludeFromDescription();
        // RudderStack's beacon mode: navigator.sendBeacon cannot set headers, so the write key
        // comes as ?writeKey= (accepted on /v1/batch too); same validation, dedupe and durability.
        app.MapPost("/beacon/v1/batch", (HttpContext context, CancellationToken ct) => SegmentAsync(context, null, ct))
            .WithName("SegmentBeaconBatch").WithTags("Collect")
            .WithSummary("Segment-compatible batch sent with navigator.sendBeacon (RudderStack beacon mode); write key as ?writeKey=.");
        foreach (var call in SegmentCalls)
        {
            app.MapPost($"/v1/{call}", (HttpContext context, CancellationToken ct) => SegmentAsync(context, call, ct))
                .WithName("Segment" + char.ToUpperInvariant(call[0]) + call[1..]).WithTags("Collect")
                .WithSummary($"Segment-compatible {call} call.");
            // analytics.js (analytics-next) posts to one-letter aliases.
            app.MapPost($"/v1/{call[0]}", (HttpContext context, CancellationToken ct) => SegmentAsync(context, call, ct))
                .ExcludeFromDescription();
        }
        return endpoints;
    }

    private static async Task<IResult> NativeAsync(HttpContext context, HubState state, SourceRateLimiter limiter, ILogger<CollectorLog> log, CancellationToken ct)
    {
        try
        {
            var ndjson = NativeFormat(context.Request);
            var hub = NodeRole.RequireCollecting(state.Require());
            var token = WriteKeyAuth.Check(hub.Tokens, WriteKeyAuth.FromHeaders(context.Request));
            var source = token.Source ?? "default";
            Throttle(limiter, source);
            using var body = await RequestBody.ReadAsync(context.Request, hub.Pipeline.Options.MaxNativeRequestBytes, ct);
            var result = await hub.Pipeline.IngestNativeAsync(body.Memory, ndjson, source, ct);
            return Answer(result);
        }
        catch (Exception ex) when (Refusal(ex, log) is { } refusal)
        {
            return refusal;
        }
    }

    private static async Task<IResult> SegmentAsync(HttpContext context, string? call, CancellationToken ct)
    {
        var state = context.RequestServices.GetRequiredService<HubState>();
        var limiter = context.RequestServices.GetRequiredService<SourceRateLimiter>();
        var log = context.RequestServices.GetRequiredService<ILogger<CollectorLog>>();
        try
        {
            var contentType = context.Request.ContentType;
            // Browser beacons send text/plain and the RudderStack Node SDK labels its JSON
            // application/x-www-form-urlencoded; all are read as JSON, as Segment's API does.
            if (contentType is not null && !IsMediaType(contentType, "application/json") && !IsMediaType(contentType, "text/plain")
                && !IsMediaType(contentType, "application/x-www-form-urlencoded"))
            {
                throw new BodyException(StatusCodes.Status415UnsupportedMediaType,
                    $"Content-Type '{contentType}' is not supported; send application/json.");
            }
            var hub = NodeRole.RequireCollecting(state.Require());
            var headerKey = WriteKeyAuth.FromHeaders(context.Request);
            if (headerKey is not null)
            {
                WriteKeyAuth.Check(hub.Tokens, headerKey);
            }
            var limit = call is null ? hub.Pipeline.Options.MaxSegmentBatchBytes : hub.Pipeline.Options.MaxEventBytes;
            using var body = await RequestBody.ReadAsync(context.Request, limit, ct);
            using var payload = SegmentPayload.Parse(body.Memory, call, hub.Pipeline.Options.MaxJsonDepth);
            var token = WriteKeyAuth.Check(hub.Tokens, headerKey ?? payload.WriteKey ?? WriteKeyAuth.FromQuery(context.Request));
            var source = token.Source ?? "default";
            Throttle(limiter, source);
            var result = await hub.Pipeline.IngestSegmentAsync(payload, source, ct);
            return Answer(result);
        }
        catch (Exception ex) when (Refusal(ex, log) is { } refusal)
        {
            return refusal;
        }
    }

    private static bool NativeFormat(HttpRequest request)
    {
        var contentType = request.ContentType;
        if (contentType is null || IsMediaType(contentType, "application/json"))
        {
            return false;
        }
        if (IsMediaType(contentType, "application/x-ndjson") || IsMediaType(contentType, "application/ndjson")
            || IsMediaType(contentType, "application/jsonl") || IsMediaType(contentType, "application/jsonlines"))
        {
            return true;
        }
        throw new BodyException(StatusCodes.Status415UnsupportedMediaType,
            $"Content-Type '{contentType}' is not supported; send application/json (one event or an array) or application/x-ndjson.");
    }

    private static bool IsMediaType(string contentType, string expected) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && string.Equals(parsed.MediaType.Value, expected, StringComparison.OrdinalIgnoreCase);

    private static void Throttle(SourceRateLimiter limiter, string source)
    {
        if (!limiter.TryAcquire(source))
        {
            throw new BodyException(StatusCodes.Status429TooManyRequests,
                $"Source '{source}' is over its rate limit; retry after a second.");
        }
    }

    private static IResult Answer(IngestResult result)
    {
        // A readable request is answered 200 with each event's outcome, even when every event was
        // refused (docs/collector.md, "Answers"): the refusals are final, so a retry would not help.
        var rejected = result.Rejected.Select(r => new RejectedEvent(r.Index, r.EventId, r.Errors)).ToList();
        var error = !result.NothingAccepted || rejected.Count == 0 ? null
            : rejected.Count == 1 ? "The event is invalid: " + string.Join("; ", rejected[0].Errors)
            : "No event in the request is valid; see rejected.";
        return Results.Json(new CollectResponse(true, result.Accepted, result.Duplicates, rejected, error), CollectJson.Web.CollectResponse);
    }

    private static IResult? Refusal(Exception exception, ILogger log)
    {
        if (exception is StoreUnavailableException unavailable)
        {
            // Operators need to see this at once: clients are being told to retry.
            log.LogError(unavailable.InnerException, "Cannot make events durable: {Reason}; answering 503", unavailable.Message);
        }
        return RefusalFor(exception);
    }

    private static IResult? RefusalFor(Exception exception) => exception switch
    {
        BodyException { StatusCode: StatusCodes.Status503ServiceUnavailable or StatusCodes.Status429TooManyRequests } busy =>
            WithRetryAfter(busy.StatusCode, busy.Message),
        BodyException body => Results.Json(new ErrorResponse(false, body.Message), ErrorJson.Web.ErrorResponse, statusCode: body.StatusCode),
        MalformedBodyException malformed => Results.Json(new ErrorResponse(false, malformed.Message), ErrorJson.Web.ErrorResponse, statusCode: StatusCodes.Status400BadRequest),
        StoreUnavailableException store => WithRetryAfter(StatusCodes.Status503ServiceUnavailable,
            $"The hub cannot make events durable right now ({store.Message}); nothing was stored, retry later."),
        Microsoft.AspNetCore.Http.BadHttpRequestException bad => Results.Json(new ErrorResponse(false, bad.Message), ErrorJson.Web.ErrorResponse, statusCode: bad.StatusCode),
        _ => null,
    };

    private static IResult WithRetryAfter(int status, string message) => new RetryAfterResult(status, message);

    private sealed class RetryAfterResult(int status, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = status == StatusCodes.Status429TooManyRequests ? "1" : "5";
            return Results.Json(new ErrorResponse(false, message), ErrorJson.Web.ErrorResponse, statusCode: status).ExecuteAsync(httpContext);
        }
    }
}
