using System.Globalization;
using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Jobs;
using Atalaya.Http;

namespace Atalaya.Alerts;

/// <summary>
/// <c>GET /api/alerts</c> and <c>POST /api/alerts/{id}/ack</c> (docs/alerts.md). Every read role may
/// call them and sees only what its scope covers: admins and analysts everything, a country lead
/// the alerts of rules narrowed to its countries, a vendor those narrowed to its stores. Every call
/// is audited, refused ones included.
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
            using var connection = hub.Database.Connect();
            // Read generously, then keep what the scope covers: a vendor's handful is not cut short by others' alerts.
            var alerts = AlertStore.Recent(connection, state, scope.IsEverything ? limit : 100_000).Where(a => AlertStore.Visible(a, scope)).Take(limit).ToList();
            return (KpiJson.Write(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("data");
                foreach (var a in alerts)
                {
                    Write(w, a);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }), alerts.Count);
        })).WithName("Alerts").WithTags("Alerts")
            .WithSummary("Alerts the hub's rules raised (firing first, newest first) within the token's scope: alert_id, rule, severity, state, started_at, resolved_at, value, threshold, scope, message, acknowledged_at, acknowledged_by.");

        app.MapPost("/api/alerts/{id}/ack", (HttpContext c, HubState s, string id) => CallAsync(c, s, [], (hub, token, scope) =>
        {
            using var connection = hub.Database.Connect();
            if (AlertStore.Get(connection, id) is not { } alert || !AlertStore.Visible(alert, scope))
            {
                throw new BodyException(StatusCodes.Status404NotFound, $"no alert '{id}' that this token may see; list them with GET /api/alerts");
            }
            AlertStore.Ack(connection, id, token.Id, hub.Kpis.Time.GetUtcNow());
            var acked = AlertStore.Get(connection, id)!;
            return (KpiJson.Write(w => Write(w, acked)), 1);
        })).WithName("AcknowledgeAlert").WithTags("Alerts")
            .WithSummary("Acknowledges an alert: it keeps firing until its condition clears, but is not sent again.");
        return app;
    }

    private static void Write(System.Text.Json.Utf8JsonWriter w, Alert a)
    {
        w.WriteStartObject();
        w.WriteString("alert_id", a.AlertId);
        w.WriteString("rule", a.Rule);
        w.WriteString("subject", a.Subject);
        w.WriteString("severity", a.Severity);
        w.WriteString("state", a.State);
        w.WriteString("started_at", PipelineRuns.Iso(a.StartedAt));
        if (a.ResolvedAt is { } r)
        {
            w.WriteString("resolved_at", PipelineRuns.Iso(r));
        }
        else
        {
            w.WriteNull("resolved_at");
        }
        KpiJson.Number(w, "value", a.Value);
        KpiJson.Number(w, "threshold", a.Threshold);
        w.WriteStartObject("scope");
        foreach (var (dimension, values) in a.Scope)
        {
            w.WriteStartArray(dimension);
            foreach (var v in values)
            {
                w.WriteStringValue(v);
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteString("message", a.Message);
        if (a.AckedAt is { } at)
        {
            w.WriteString("acknowledged_at", PipelineRuns.Iso(at));
            w.WriteString("acknowledged_by", a.AckedBy);
        }
        else
        {
            w.WriteNull("acknowledged_at");
            w.WriteNull("acknowledged_by");
        }
        w.WriteEndObject();
    }

    /// <summary>Token (401/403) → parameters (400) → the endpoint (404) → an audit entry with the scope, committed before the answer.</summary>
    private static async Task<IResult> CallAsync(HttpContext context, HubState state, string[] allowed, Func<Engine.Hub, TokenInfo, AccessScope, (byte[] Json, int Rows)> run)
    {
        Engine.Hub hub;
        TokenInfo token;
        try
        {
            hub = state.Require();
            token = ReadAccess.Check(hub.Tokens, context.Request);
        }
        catch (BodyException e)
        {
            return ReadCall.Error(e.StatusCode, e.Message);
        }
        var scope = AccessScope.Of(token);
        IResult result;
        int status, rows = 0;
        try
        {
            foreach (var key in context.Request.Query.Keys.Where(k => !allowed.Contains(k)))
            {
                throw new BodyException(StatusCodes.Status400BadRequest, $"unknown parameter '{key}'" + (allowed.Length > 0 ? $"; this endpoint takes {string.Join(", ", allowed)}" : ""));
            }
            (var json, rows) = run(hub, token, scope);
            status = StatusCodes.Status200OK;
            result = Results.Bytes(json, "application/json");
        }
        catch (BodyException e)
        {
            (status, result) = (e.StatusCode, ReadCall.Error(e.StatusCode, e.Message));
        }
        await hub.Audit.AppendAsync(ReadCall.Entry(hub, context, token, scope, rows, status)).ConfigureAwait(false);
        return result;
    }
}
