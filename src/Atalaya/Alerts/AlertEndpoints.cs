using System.Globalization;
using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts;
using Atalaya.Http;

namespace Atalaya.Alerts;

/// <summary>
/// <c>GET /api/alerts</c> and <c>POST /api/alerts/{id}/ack</c> (docs/alerts.md). Every read role may
/// call them and sees only what its scope covers: admins and analysts everything, a country lead
/// the alerts of rules narrowed to its countries, a vendor those narrowed to its stores. Every call
/// is audited, refused ones included. On a cluster with PostgreSQL every node answers from the
/// cluster's alerts there (503 with Retry-After while it cannot be reached).
/// </summary>
public static class AlertEndpoints
{
    private static readonly string[] States = ["firing", "resolved"];

    public static IEndpointRouteBuilder MapAlerts(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/alerts", (HttpContext c, HubState s) => CallAsync(c, s, ["state", "limit"], (hub, token, scope) =>
        {
            var query = c.Request.Query;
            string? state = null;
            if (query.TryGetValue("state", out var st))
            {
                state = st.ToString();
                if (!States.Contains(state))
                {
                    throw new BodyException(StatusCodes.Status400BadRequest, $"state: '{state}' is not firing or resolved");
                }
            }
            var limit = 200;
            if (query.TryGetValue("limit", out var l) && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 10_000))
            {
                throw new BodyException(StatusCodes.Status400BadRequest, $"limit: '{l}' must be a whole number from 1 to 10000");
            }
            // Read generously, then keep what the scope covers: a vendor's handful is not cut short by others' alerts.
            var alerts = hub.AlertRows.Recent(state, scope.IsEverything ? limit : 100_000).Where(a => AlertStore.Visible(a, scope)).Take(limit).ToList();
            return (Answers.Bytes(new AlertList([.. alerts.Select(AlertView.Of)]), AlertsJson.Web.AlertList), alerts.Count);
        })).WithName("Alerts").WithTags("Alerts").Produces<AlertList>().Refusals()
            .WithSummary("Alerts the hub's rules raised (firing first, newest first) within the token's scope: alert_id, rule, severity, state, started_at, resolved_at, value, threshold, scope, message, acknowledged_at, acknowledged_by.");

        app.MapPost("/api/alerts/{id}/ack", (HttpContext c, HubState s, string id) => CallAsync(c, s, [], (hub, token, scope) =>
        {
            if (hub.AlertRows.Get(id) is not { } alert || !AlertStore.Visible(alert, scope))
            {
                throw new BodyException(StatusCodes.Status404NotFound, $"no alert '{id}' that this token may see; list them with GET /api/alerts");
            }
            hub.AlertRows.Ack(id, token.Id, hub.Kpis.Time.GetUtcNow());
            var acked = hub.AlertRows.Get(id)!;
            return (Answers.Bytes(AlertView.Of(acked), AlertsJson.Web.AlertView), 1);
        })).WithName("AcknowledgeAlert").WithTags("Alerts").Produces<AlertView>().Refusals(StatusCodes.Status404NotFound)
            .WithSummary("Acknowledges an alert: it keeps firing until its condition clears, but is not sent again.");
        return app;
    }

    /// <summary>An alerts call on the audited path (<see cref="ReadCall.AuditedAsync"/>): parameters (400) → the endpoint (404).</summary>
    private static Task<IResult> CallAsync(HttpContext context, HubState state, string[] allowed, Func<Engine.Hub, TokenInfo, AccessScope, (byte[] Json, int Rows)> run) =>
        ReadCall.AuditedAsync(context, state, (hub, token, scope) =>
        {
            ReadCall.RejectUnknown(context.Request.Query, allowed);
            var (json, rows) = run(hub, token, scope);
            return Task.FromResult(CallAnswer.Json(json, rows));
        });
}
