using System.Text.Json.Serialization;
using Atalaya.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Atalaya.Engine.Webhooks;
using Atalaya.Http;

namespace Atalaya.Webhooks;

/// <summary>The answer to a provider's webhook: where the body was stored and what it became.</summary>
/// <param name="Success">True once the body is stored (even when it could not be mapped: it is then a dead letter).</param>
/// <param name="Id">The webhook_inbox id of the stored body.</param>
/// <param name="Status">mapped (catalog events stored) or dead (kept as a dead letter).</param>
/// <param name="Events">Catalog events stored from it (0 for a resend of events already stored).</param>
/// <param name="Message">What happened, in words.</param>
public sealed record WebhookResponse(bool Success, long Id, string Status, int Events, string Message);

/// <summary>
/// <c>POST /api/webhooks/{provider}</c>: provider events (payments, order status) signed with
/// HMAC-SHA256. No token: the signature is the provider's credential. The engine's
/// <see cref="WebhookReceiver"/> checks, stores durably, then maps; this only reads the body and
/// words the answer.
/// </summary>
public static class WebhookEndpoints
{
    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/webhooks/{provider}", async (string provider, HttpContext context, HubState state, ServeOptions options, CancellationToken cancellationToken) =>
        {
            try
            {
                var hub = NodeRole.RequireCollecting(state.Require());
                var header = options.Config.Webhooks.TryGetValue(provider, out var settings)
                    ? context.Request.Headers[settings.SignatureHeader].ToString() : null;
                using var body = await RequestBody.ReadAsync(context.Request, WebhookReceiver.MaxBodyBytes, cancellationToken);
                var outcome = await new WebhookReceiver(hub.Pipeline, hub.Database, options.Config, hub.Kpis.Time, hub.Jobs.SharedState)
                    .ReceiveAsync(provider, header, body.Memory.ToArray(), cancellationToken);
                return outcome.Id is { } id
                    ? Results.Json(new WebhookResponse(true, id, outcome.State!, outcome.Events, outcome.Message), WebhooksJson.Web.WebhookResponse, statusCode: outcome.Status)
                    : Results.Json(new ErrorResponse(false, outcome.Message), ErrorJson.Web.ErrorResponse, statusCode: outcome.Status);
            }
            catch (BodyException e)
            {
                return ReadCall.Error(e.StatusCode, e.Message);
            }
            catch (StateUnavailableException e)
            {
                // Not acknowledged: the provider delivers again, and a body stored before the failure is processed then.
                return ReadCall.Error(StatusCodes.Status503ServiceUnavailable, ReadAccess.Unavailable(e.Store).Message);
            }
            catch (StoreUnavailableException e)
            {
                return ReadCall.Error(StatusCodes.Status503ServiceUnavailable, $"The hub cannot make events durable right now ({e.Message}); retry later.");
            }
        })
        .WithSummary("Receives a provider's signed webhook (payments, order status).")
        .WithDescription("The header named by webhooks.PROVIDER.signature_header carries t=UNIX,v1=HEX where HEX is HMAC-SHA256(secret, \"t.body\"). "
            + "Answers 200 once stored and mapped to catalog events, 202 when stored but kept as a dead letter, 400 for a missing or stale signature, "
            + "401 for a wrong one, 404 for an unknown provider, 409 for a replayed signature, 413 for a body over 1 MiB, "
            + "503 with Retry-After while the hub cannot store it (a cluster's PostgreSQL or the event queue away): deliver it again.");
        return app;
    }
}

/// <summary>Source-generated JSON of the webhook answer.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(WebhookResponse))]
internal sealed partial class WebhooksJson : JsonSerializerContext
{
    public static WebhooksJson Web { get; } = new(Answers.Options());
}
