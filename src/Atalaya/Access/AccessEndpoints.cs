using System.Globalization;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Http;

namespace Atalaya.Access;

/// <summary>
/// Who am I (<c>GET /api/me</c>, any read token: role and scope, for the dashboards) and
/// administration (docs/metrics-api.md, admin tokens only): tokens (<c>GET|POST /api/tokens</c>,
/// <c>DELETE /api/tokens/{id}</c>) and the audit log (<c>GET /api/audit</c>). Every call is itself
/// audited; a token's secret appears once, in the answer to its creation, and nowhere else.
/// </summary>
public static class AccessEndpoints
{
    public static IEndpointRouteBuilder MapAccess(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/me", (HttpContext c, HubState s, ServeOptions o) => ReadCall.RunAsync(c, s, [], r =>
        {
            var t = r.Token;
            // The token's own stores by name, so a vendor's dashboard reads "Tacos El Güero", not "mx-003".
            var storeNames = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var id in t.Stores)
            {
                if (r.Hub.Log.Stores.TryGet(id, out var store) && store.StoreName is { Length: > 0 } name)
                {
                    storeNames[id] = name;
                }
            }
            var me = new MeAnswer(t.Id, t.Name, Roles.Name(t.Role), t.Countries, t.Hubs, t.Zones, t.Stores, storeNames, o.Ingest.ReportingCurrency);
            return new ReadAnswer(Answers.Bytes(me, AccessJson.Web.MeAnswer), 1);
        })).WithName("Me").WithTags("Access").Produces<MeAnswer>().Refusals()
            .WithSummary("The calling token's id, name, role, scope lists (countries, hubs, zones, stores), its stores' names and the hub's reporting currency; what a dashboard needs to pick its view. Any read token.")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new Microsoft.OpenApi.OpenApiParameter
                {
                    Name = "Authorization",
                    In = Microsoft.OpenApi.ParameterLocation.Header,
                    Required = true,
                    Description = "Bearer <read token> (admin, analyst, country_ops_lead or vendor).",
                    Schema = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.String },
                });
                return Task.CompletedTask;
            });

        app.MapGet("/api/tokens", (HttpContext c, HubState s) => AdminAsync(c, s, [], (hub, _) =>
        {
            var tokens = hub.Tokens.List();
            return (Answers.Bytes(new TokenList([.. tokens.Select(TokenView.Of)]), AccessJson.Web.TokenList), tokens.Count, StatusCodes.Status200OK, null);
        })).WithName("ListTokens").WithTags("Access").Produces<TokenList>().Refusals().WithSummary("Every token (never a secret). Admin only.");

        app.MapPost("/api/tokens", (HttpContext c, HubState s) => AdminAsync(c, s, [], (hub, body) =>
        {
            var request = ParseTokenRequest(body);
            TokenInfo token;
            string secret;
            try
            {
                (token, secret) = hub.Tokens.Create(request);
            }
            catch (ArgumentException e)
            {
                // TokenRequestException's message names the JSON member ("countries: …").
                throw new BodyException(StatusCodes.Status400BadRequest, e.Message);
            }
            var unknownStores = UnknownStores(hub, token.Stores);
            var created = CreatedToken.Of(TokenView.Of(token), secret, [.. unknownStores.Select(UnknownStoreWarning)]);
            return (Answers.Bytes(created, AccessJson.Web.CreatedToken), 1, StatusCodes.Status201Created, TokenDetails("created", token));
        }, readsBody: true)).WithName("CreateToken").WithTags("Access")
            .Produces<CreatedToken>(StatusCodes.Status201Created).Refusals()
            .WithSummary("Create a token: {role, name?, countries?, hubs?, zones?, stores?, source?, expires_at?}. Answers 201 with the secret (in this answer only) and `warnings` (e.g. a store no event has registered yet). Admin only.");

        app.MapDelete("/api/tokens/{id}", (HttpContext c, HubState s, string id) => AdminAsync(c, s, [], (hub, _) =>
            hub.Tokens.Revoke(id)
                ? (Answers.Bytes(new RevokedToken(id), AccessJson.Web.RevokedToken), 1, StatusCodes.Status200OK,
                    JsonSerializer.Serialize(new RevokedToken(id), AccessJson.Web.RevokedToken))
                : throw new BodyException(StatusCodes.Status404NotFound, $"No active token with id '{id}'.")))
            .WithName("RevokeToken").WithTags("Access").Produces<RevokedToken>().Refusals(StatusCodes.Status404NotFound).WithSummary("Revoke a token; effective within a second. Admin only.");

        app.MapGet("/api/audit", async (HttpContext c, HubState s) =>
        {
            // Served reads are committed within the audit's read window: show every one answered so far.
            if (s.Current is { } current)
            {
                try
                {
                    await current.Audit.FlushAsync();
                }
                catch (Exception e) when (e is System.Data.Common.DbException or IOException or Engine.Postgres.StateUnavailableException)
                {
                    // The entries stay queued and are retried; the reading below answers what is committed, or 503.
                }
            }
            return await AdminAsync(c, s, ["actor", "action", "from", "to", "limit"], (hub, _) =>
            {
                var q = c.Request.Query;
                var limit = q.TryGetValue("limit", out var l)
                    ? int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 10_000 ? n
                        : throw new BodyException(StatusCodes.Status400BadRequest, "limit: must be a whole number from 1 to 10000")
                    : 100;
                var records = hub.Audit.Query(Text(q, "actor"), Text(q, "action"), Instant(q, "from"), Instant(q, "to"), limit);
                return (Answers.Bytes(new AuditList([.. records.Select(AuditView.Of)]), AccessJson.Web.AuditList), records.Count, StatusCodes.Status200OK, null);
            });
        }).WithName("Audit").WithTags("Access").Produces<AuditList>().Refusals()
            .QueryParameters(
                ("actor", "Token id (tok_…) or cli:<user>."), ("action", "e.g. 'GET /api/kpi/query' or 'tokens.create'."),
                ("from", "ISO date or instant, inclusive."), ("to", "ISO date or instant, exclusive."), ("limit", "1–10000, default 100."))
            .WithSummary("Audit log entries, newest first; filters actor (token id), action (e.g. 'GET /api/kpi/query'), from/to (ISO instants), limit. Admin only.");
        return app;
    }

    private static Task<IResult> AdminAsync(HttpContext context, HubState state, string[] allowed,
        Func<Engine.Hub, JsonElement?, (byte[] Json, int Rows, int Status, string? Details)> run, bool readsBody = false) =>
        OperationAsync(context, state, allowed, [Role.Admin], "Only admin tokens manage tokens and read the audit log", run, readsBody);

    /// <summary>
    /// Operations endpoints on the audited path (<see cref="ReadCall.AuditedAsync"/>): the role (403 with
    /// <paramref name="forbidden"/>), the parameters (400), the body when the endpoint reads one, then
    /// the endpoint, whose answer carries its status and, for a change, what it did.
    /// </summary>
    internal static Task<IResult> OperationAsync(HttpContext context, HubState state, string[] allowed, Role[] roles, string forbidden,
        Func<Engine.Hub, JsonElement?, (byte[] Json, int Rows, int Status, string? Details)> run, bool readsBody = false) =>
        ReadCall.AuditedAsync(context, state, async (hub, token, _) =>
        {
            if (!roles.Contains(token.Role))
            {
                throw new BodyException(StatusCodes.Status403Forbidden, $"{forbidden}; this is a {Roles.Name(token.Role)} token.");
            }
            ReadCall.RejectUnknown(context.Request.Query, allowed);
            JsonElement? body = null;
            if (readsBody)
            {
                try
                {
                    using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
                    body = document.RootElement.Clone();
                }
                catch (JsonException e)
                {
                    throw new BodyException(StatusCodes.Status400BadRequest, $"The body must be a JSON object: {e.Message}");
                }
            }
            var (json, rows, status, details) = run(hub, body);
            return CallAnswer.Json(json, rows, status, details);
        });

    private static TokenRequest ParseTokenRequest(JsonElement? body)
    {
        if (body is not { ValueKind: JsonValueKind.Object } b)
        {
            throw new BodyException(StatusCodes.Status400BadRequest, "The body must be a JSON object like {\"role\": \"vendor\", \"stores\": [\"st-1\"]}.");
        }
        var roleText = b.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        if (!Roles.TryParse(roleText, out var role))
        {
            throw new BodyException(StatusCodes.Status400BadRequest, $"role: must be one of {Roles.AllNames}.");
        }
        IReadOnlyList<string>? List(string name)
        {
            if (!b.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            {
                return null;
            }
            if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(e.GetString())))
            {
                throw new BodyException(StatusCodes.Status400BadRequest, $"{name}: must be an array of non-empty strings.");
            }
            return v.EnumerateArray().Select(e => e.GetString()!.Trim()).ToList();
        }
        string? Text(string name) => b.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        DateTimeOffset? expires = null;
        if (b.TryGetProperty("expires_at", out var e) && e.ValueKind != JsonValueKind.Null)
        {
            expires = e.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                ? at
                : throw new BodyException(StatusCodes.Status400BadRequest, "expires_at: must be a date and time like \"2027-01-31T00:00:00Z\", or null for a token that never expires.");
        }
        return new TokenRequest(role, Text("name"), List("countries"), List("hubs"), List("zones"), List("stores"), Text("source"), expires);
    }

    /// <summary>Stores of a request that no <c>store_created</c> event has registered (yet): allowed, but worth a warning.</summary>
    internal static List<string> UnknownStores(Engine.Hub hub, IReadOnlyList<string> stores) => UnknownStores(hub.Database, stores);

    internal static List<string> UnknownStores(Engine.Storage.HubDatabase database, IReadOnlyList<string> stores)
    {
        if (stores.Count == 0)
        {
            return [];
        }
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM stores WHERE store_id = $id;";
        var id = command.Parameters.Add("$id", Microsoft.Data.Sqlite.SqliteType.Text);
        return [.. stores.Where(s =>
        {
            id.Value = s;
            return command.ExecuteScalar() is null;
        })];
    }

    internal static string UnknownStoreWarning(string store) =>
        $"store '{store}' is not registered yet (no store_created event names it): check the id; the token will see the store's data once it arrives.";

    /// <summary>What an administrative change did, for the audit log: the change and the token's fields (the secret never).</summary>
    public static string TokenDetails(string change, TokenInfo t) => KpiJson.Text(w =>
    {
        w.WriteStartObject();
        w.WriteString(change, t.Id);
        using (var fields = JsonSerializer.SerializeToDocument(TokenView.Of(t), AccessJson.Web.TokenView))
        {
            foreach (var field in fields.RootElement.EnumerateObject())
            {
                field.WriteTo(w);
            }
        }
        w.WriteEndObject();
    });

    private static string? Text(IQueryCollection q, string name) => q.TryGetValue(name, out var v) && v.ToString().Length > 0 ? v.ToString() : null;

    private static DateTimeOffset? Instant(IQueryCollection q, string name)
    {
        var text = Text(q, name);
        if (text is null)
        {
            return null;
        }
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            throw new BodyException(StatusCodes.Status400BadRequest, $"{name}: '{text}' is not an ISO date or instant");
        }
        KpiParameters.InRange(name, DateOnly.FromDateTime(at.UtcDateTime));
        return at;
    }
}
