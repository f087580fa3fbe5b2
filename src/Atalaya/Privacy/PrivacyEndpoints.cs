using System.Text.Json;
using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Engine.Privacy;
using Atalaya.Http;

namespace Atalaya.Privacy;

/// <summary>
/// <c>POST /api/privacy/erasure</c> and <c>GET /api/privacy/export</c> (docs/privacy.md): admin
/// only, through the operations path (401/403/400 before anything runs), and audited with the
/// person's id hashed — never in clear, whatever the answer.
/// </summary>
public static class PrivacyEndpoints
{
    private static readonly string[] PersonParams = ["user_id", "anonymous_id"];

    public static IEndpointRouteBuilder MapPrivacy(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/privacy/erasure", (HttpContext c, HubState s) =>
            AccessEndpoints.OperationAsync(c, s, [], [Role.Admin], "Only admin tokens erase personal data", (hub, body) =>
            {
                var person = FromBody(body);
                var outcome = (hub.Cluster is null
                    ? hub.Erasure.EraseAsync(person, Actor(c), "admin")
                    : RequireShared(hub).EraseAsync(person, Actor(c), "admin")).GetAwaiter().GetResult();
                var status = outcome.Status == ErasureStatus.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status200OK;
                var json = outcome.Status == ErasureStatus.NotFound
                    ? Answers.Bytes(new ErasureNotFound(false, $"No data is stored for that {person.Kind}: nothing to erase.", outcome.PersonHash), PrivacyJson.Web.ErasureNotFound)
                    : Answers.Bytes(new ErasureAnswer(true, outcome.Status == ErasureStatus.Erased ? "erased" : "already_erased", outcome.ErasureId,
                        outcome.Ids, outcome.Events, outcome.Blocks, outcome.Quarantined, outcome.PersonHash), PrivacyJson.Web.ErasureAnswer);
                return (json, outcome.Events, status, Details(outcome.PersonHash, outcome.ErasureId));
            }, readsBody: true))
            .WithName("PrivacyErasure").WithTags("Privacy").Produces<ErasureAnswer>().Produces<ErasureNotFound>(StatusCodes.Status404NotFound).Refusals()
            .WithSummary("Erase one person: body {\"user_id\": \"…\"} or {\"anonymous_id\": \"…\"}. Their ids become a random pseudonym, personal fields are removed, every KPI stays as it was. 404 when nothing is stored for the id; a repeat answers status already_erased. Admin only.");

        app.MapGet("/api/privacy/export", (HttpContext c, HubState s) =>
            AccessEndpoints.OperationAsync(c, s, PersonParams, [Role.Admin], "Only admin tokens export personal data", (hub, _) =>
            {
                var person = FromQuery(c.Request.Query);
                var json = PersonExport.Build(hub.PersonalData, person);
                var details = Details(PersonIds.Hash(person.Id), null);
                return json is null
                    ? (JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(false, $"No data is stored for that {person.Kind}."), ErrorJson.Web.ErrorResponse),
                        0, StatusCodes.Status404NotFound, details)
                    : (json, 1, StatusCodes.Status200OK, details);
            }))
            .WithName("PrivacyExport").WithTags("Privacy").Refusals(StatusCodes.Status404NotFound)
            .WithSummary("Everything stored about one person as JSON: user_id=… or anonymous_id=…. 404 when nothing is stored. Admin only.")
            .QueryParameters(("user_id", "The person's user id."), ("anonymous_id", "The person's anonymous id (instead of user_id)."));
        return app;
    }

    /// <summary>
    /// A cluster node erases across the cluster only with <c>--postgres</c>: the plan and the record of
    /// erasures must be shared by every node (a pending plan finished by any of them, "already erased"
    /// known to all). Without it, 501 names the option; nothing was changed (docs/scale-out.md).
    /// </summary>
    private static Engine.Privacy.ClusterErasure RequireShared(Engine.Hub hub) =>
        hub.ClusterErasure ?? throw new BodyException(StatusCodes.Status501NotImplemented,
            "Erasing a person on a cluster needs the cluster's PostgreSQL (serve --postgres CONNSTRING): the plan and the record of erasures must be shared by every node. Nothing was changed (docs/scale-out.md).");

    private static string Actor(HttpContext context) =>
        ReadAccess.Check(context.RequestServices.GetRequiredService<HubState>().Require().Tokens, context.Request).Id;

    private static string Details(string personHash, string? erasureId) => KpiJson.Text(w =>
    {
        w.WriteStartObject();
        w.WriteString("person", personHash);
        if (erasureId is not null)
        {
            w.WriteString("erasure_id", erasureId);
        }
        w.WriteEndObject();
    });

    private static PersonRef FromBody(JsonElement? body)
    {
        if (body is not { ValueKind: JsonValueKind.Object } b)
        {
            throw new BodyException(StatusCodes.Status400BadRequest, "The body must be a JSON object like {\"user_id\": \"u-123\"} or {\"anonymous_id\": \"a-456\"}.");
        }
        foreach (var member in b.EnumerateObject())
        {
            if (!PersonParams.Contains(member.Name))
            {
                throw new BodyException(StatusCodes.Status400BadRequest, $"unknown member '{member.Name}'; the body takes user_id or anonymous_id.");
            }
        }
        string? Text(string name) => b.TryGetProperty(name, out var v)
            ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw new BodyException(StatusCodes.Status400BadRequest, $"{name}: must be a string.")
            : null;
        return Validate(Text("user_id"), Text("anonymous_id"));
    }

    private static PersonRef FromQuery(IQueryCollection query)
    {
        string? Text(string name) => query.TryGetValue(name, out var v) ? v.ToString() : null;
        return Validate(Text("user_id"), Text("anonymous_id"));
    }

    private static PersonRef Validate(string? user, string? anonymous)
    {
        if ((user is null) == (anonymous is null))
        {
            throw new BodyException(StatusCodes.Status400BadRequest, "Name the person with exactly one of user_id or anonymous_id.");
        }
        var (name, id) = user is not null ? ("user_id", user) : ("anonymous_id", anonymous!);
        if (string.IsNullOrWhiteSpace(id) || id.Length > PersonRef.MaxLength)
        {
            throw new BodyException(StatusCodes.Status400BadRequest, $"{name}: must be a non-empty id of at most {PersonRef.MaxLength} characters.");
        }
        return new PersonRef(id, user is not null);
    }
}
