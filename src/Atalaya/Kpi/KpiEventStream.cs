using System.Text;
using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Http;

namespace Atalaya.Kpi;

/// <summary>
/// <c>GET /api/kpi/events</c>: Server-Sent Events for live dashboards. Sends an <c>event: summary</c>
/// (the <c>/api/kpi/summary</c> answer for the same parameters) at once; then checks every 500 ms
/// whether stored events changed the projection and sends the new summary when its figures
/// changed; and sends one at least every 10 s regardless, which doubles as a keep-alive. The
/// stream ends once its token no longer authenticates (revoked), within a second of the revocation. Since
/// events are in the projection before their 2xx, a posted event shows within about half a second.
/// </summary>
public static class KpiEventStream
{
    private static readonly TimeSpan Check = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(HttpContext context, HubState state)
    {
        Engine.Hub hub;
        ReadContext read;
        try
        {
            hub = state.Require();
            var token = ReadAccess.Check(hub.Tokens, context.Request);
            ReadCall.RequireAnswering(hub);
            var parameters = new KpiParameters(context.Request.Query, KpiEndpoints.SummaryParams, hub.Kpis.Time);
            read = new ReadContext(hub, parameters, token, AccessScope.Of(token));
        }
        catch (BodyException e)
        {
            await ReadCall.Error(e.StatusCode, e.Message).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        try
        {
            var first = KpiEndpoints.Summary(read);
            await ReadCall.AuditAsync(hub, context, ReadCall.Entry(hub, context, read.Token, read.Scope, first.Rows, StatusCodes.Status200OK)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BodyException or ScopeViolationException)
        {
            var status = e is BodyException b ? b.StatusCode : StatusCodes.Status403Forbidden;
            await ReadCall.AuditAsync(hub, context, ReadCall.Entry(hub, context, read.Token, read.Scope, 0, status)).ConfigureAwait(false);
            await ReadCall.Error(status, e.Message).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var aborted = context.RequestAborted;
        byte[]? last = null;
        var lastVersion = -1L;
        var lastSent = DateTimeOffset.MinValue;
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                var version = hub.Kpis.Projection.Version;
                var now = hub.Kpis.Time.GetUtcNow();
                if (version != lastVersion || now - lastSent >= Heartbeat)
                {
                    lastVersion = version;
                    var summary = KpiEndpoints.Summary(read).Json;
                    if (last is null || now - lastSent >= Heartbeat || !summary.AsSpan().SequenceEqual(last))
                    {
                        if (!StillValid(hub, context))
                        {
                            return;
                        }
                        await SendAsync(response, summary, aborted).ConfigureAwait(false);
                        last = summary;
                        lastSent = now;
                    }
                }
                if (!StillValid(hub, context))
                {
                    return;
                }
                await Task.Delay(Check, aborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    /// <summary>
    /// Whether the stream's token still authenticates. Checked before every send and every check
    /// period, so a token revoked anywhere (the API, or the CLI through the one-second token cache)
    /// gets nothing a second after its revocation, and its stream ends.
    /// </summary>
    private static bool StillValid(Engine.Hub hub, HttpContext context)
    {
        try
        {
            ReadAccess.Check(hub.Tokens, context.Request);
            return true;
        }
        catch (BodyException)
        {
            return false;
        }
    }

    private static async Task SendAsync(HttpResponse response, byte[] summary, CancellationToken ct)
    {
        await response.Body.WriteAsync("event: summary\ndata: "u8.ToArray(), ct).ConfigureAwait(false);
        await response.Body.WriteAsync(summary, ct).ConfigureAwait(false);
        await response.Body.WriteAsync(Encoding.ASCII.GetBytes("\n\n"), ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }
}
