using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;
using Atalaya.Http;

namespace Atalaya.Access;

/// <summary>What a read endpoint gets: the hub, its parsed parameters, who is asking and what they may see.</summary>
public sealed record ReadContext(Hub Hub, KpiParameters Parameters, TokenInfo Token, AccessScope Scope);

/// <summary>A read endpoint's answer: the JSON body and how many rows it holds (for the audit log).</summary>
public sealed record ReadAnswer(byte[] Json, int Rows);

/// <summary>
/// What an audited call answered: the result, the rows it holds and its status (for the audit log),
/// and for a change, what it did (the audit entry's parameters).
/// </summary>
internal sealed record CallAnswer(IResult Result, int Rows, int Status = StatusCodes.Status200OK, string? Details = null)
{
    /// <summary>A JSON answer: 200 as bytes, any other status (201, 202, 404…) with that status.</summary>
    public static CallAnswer Json(byte[] json, int rows, int status = StatusCodes.Status200OK, string? details = null) => new(
        status == StatusCodes.Status200OK ? Results.Bytes(json, "application/json")
            : Results.Text(System.Text.Encoding.UTF8.GetString(json), "application/json", System.Text.Encoding.UTF8, status),
        rows, status, details);
}

/// <summary>
/// The one path of every audited call (metrics reads, operations, alerts, reports): token (401/403) →
/// the call, which checks its parameters (400) and passes the token's scope to the engine (403 for a
/// filter outside it) → an audit entry with who, what, the normalized parameters, the scope, the
/// filters the scope injected and the rows returned. A refusal and a change are committed before the
/// answer is sent; a served read within the audit log's read window (<see cref="AuditAsync"/>).
/// </summary>
public static class ReadCall
{
    /// <summary>A metrics read: its parameters are parsed (400 for one not in <paramref name="allowed"/>), then <paramref name="run"/> answers.</summary>
    public static Task<IResult> RunAsync(HttpContext context, HubState state, IReadOnlyCollection<string> allowed, Func<ReadContext, ReadAnswer> run) =>
        AuditedAsync(context, state, (hub, token, scope) =>
        {
            var answer = run(new ReadContext(hub, new KpiParameters(context.Request.Query, allowed, hub.Kpis.Time), token, scope));
            return Task.FromResult(CallAnswer.Json(answer.Json, answer.Rows));
        });

    /// <summary>
    /// Token → <paramref name="call"/> → audit. What the call throws is answered as the clear 4xx it
    /// stands for (<see cref="BodyException"/>, a scope violation, a bad query); anything else is a
    /// logged 500, audited too.
    /// </summary>
    /// <param name="authenticate">Who is calling and what they may see: by default a read token (<see cref="ReadAccess.Check"/>) and its scope.</param>
    internal static async Task<IResult> AuditedAsync(HttpContext context, HubState state, Func<Hub, TokenInfo, AccessScope, Task<CallAnswer>> call,
        Func<Hub, HttpRequest, (TokenInfo Token, AccessScope Scope)>? authenticate = null)
    {
        Hub hub;
        TokenInfo token;
        AccessScope scope;
        try
        {
            hub = state.Require();
            (token, scope) = authenticate?.Invoke(hub, context.Request) ?? ReadToken(hub, context.Request);
            RequireAnswering(hub);
        }
        catch (BodyException e)
        {
            return e.StatusCode == StatusCodes.Status503ServiceUnavailable ? Loading(e.Message) : Error(e.StatusCode, e.Message);
        }
        CallAnswer answer;
        try
        {
            answer = await call(hub, token, scope).ConfigureAwait(false);
        }
        catch (BodyException e)
        {
            answer = Refused(e.StatusCode, e.Message);
        }
        catch (ScopeViolationException e)
        {
            answer = Refused(StatusCodes.Status403Forbidden, e.Message);
        }
        catch (KpiQueryException e)
        {
            answer = Refused(StatusCodes.Status400BadRequest, e.Message);
        }
        catch (Engine.Postgres.StateUnavailableException e)
        {
            context.RequestServices.GetRequiredService<ILogger<ReadFailure>>()
                .LogWarning("{Method} {Path} answered 503: {Reason}", context.Request.Method, context.Request.Path, e.Message);
            var unavailable = ReadAccess.Unavailable(e.Store);
            answer = Refused(unavailable.StatusCode, unavailable.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            answer = new CallAnswer(Unexpected(context, e), 0, StatusCodes.Status500InternalServerError);
        }
        var entry = Entry(hub, context, token, scope, answer.Rows, answer.Status);
        if (answer.Details is not null)
        {
            entry = entry with { Params = answer.Details };
        }
        // A change that was made is committed before its answer (a failure to record it is a 500;
        // on a cluster whose PostgreSQL is away, a 503 to retry).
        try
        {
            await AuditAsync(hub, context, entry,
                change: answer.Status is >= 200 and < 300 && (answer.Details is not null || !HttpMethods.IsGet(context.Request.Method))).ConfigureAwait(false);
        }
        catch (Engine.Postgres.StateUnavailableException e)
        {
            context.RequestServices.GetRequiredService<ILogger<ReadFailure>>()
                .LogError(e, "{Method} {Path} ({Status}) could not be audited; answered 503", context.Request.Method, context.Request.Path, entry.Status);
            var unavailable = ReadAccess.Unavailable();
            return Error(unavailable.StatusCode, unavailable.Message);
        }
        return answer.Result;
    }

    private static (TokenInfo, AccessScope) ReadToken(Hub hub, HttpRequest request)
    {
        var token = ReadAccess.Check(hub.Tokens, request);
        return (token, AccessScope.Of(token));
    }

    private static CallAnswer Refused(int status, string message) => new(Error(status, message), 0, status);

    /// <summary>A 400 for the first query parameter not in <paramref name="allowed"/>, naming the ones the endpoint takes.</summary>
    internal static void RejectUnknown(IQueryCollection query, IReadOnlyCollection<string> allowed)
    {
        foreach (var key in query.Keys.Where(k => !allowed.Contains(k)))
        {
            throw new BodyException(StatusCodes.Status400BadRequest,
                $"unknown parameter '{key}'; this endpoint takes " + (allowed.Count > 0 ? string.Join(", ", allowed) : "none"));
        }
    }

    /// <summary>
    /// A served read (a GET answered 200) is audited within the audit log's read window, after the
    /// answer; a refused read and any change are committed before the answer (docs/access.md).
    /// A refused read whose entry cannot be written (a full disk, PostgreSQL away) is still refused, and the failure logged.
    /// </summary>
    public static async Task AuditAsync(Engine.Hub hub, HttpContext context, AuditEntry entry, bool change = false)
    {
        if (!change && entry.Status == StatusCodes.Status200OK && HttpMethods.IsGet(context.Request.Method))
        {
            hub.Audit.AppendLater(entry);
            return;
        }
        try
        {
            await hub.Audit.AppendAsync(entry).ConfigureAwait(false);
        }
        catch (Exception e) when (!change && e is System.Data.Common.DbException or IOException or Engine.Postgres.StateUnavailableException)
        {
            context.RequestServices.GetRequiredService<ILogger<ReadFailure>>()
                .LogError(e, "Could not audit the refused {Method} {Path} ({Status})", context.Request.Method, context.Request.Path, entry.Status);
        }
    }

    /// <summary>
    /// A failure nobody mapped to a 4xx: logged with its stack and answered 500, and the caller
    /// still audits it (a 500 missing from the audit hides exactly the calls worth looking at).
    /// </summary>
    public static IResult Unexpected(HttpContext context, Exception exception)
    {
        context.RequestServices.GetRequiredService<ILogger<ReadFailure>>()
            .LogError(exception, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
        return Error(StatusCodes.Status500InternalServerError, "The hub failed to answer this call; the failure is logged and audited.");
    }

    /// <summary>The logger category of reads that failed unexpectedly.</summary>
    public sealed class ReadFailure;

    /// <summary>
    /// A cluster node answers KPI and analysis questions once its projection holds what ClickHouse
    /// held at its start (docs/scale-out.md); until then, 503 with Retry-After. A node that only
    /// collects never does: 421, the request went to the wrong kind of node.
    /// </summary>
    /// <exception cref="BodyException">503 while the node is still loading; 421 on a collecting node.</exception>
    internal static void RequireAnswering(Hub hub)
    {
        if (hub.Cluster is { Answers: false } collector)
        {
            throw new BodyException(StatusCodes.Status421MisdirectedRequest,
                $"This cluster node only collects events (serve --role {collector.Role.Name()}) and holds no KPI projection; ask a node started with --role answer or --role all (docs/scale-out.md, \"Node roles\").");
        }
        if (hub.Cluster is { Answering: false } cluster)
        {
            throw new BodyException(StatusCodes.Status503ServiceUnavailable,
                $"This cluster node is loading its KPI projection from ClickHouse ({cluster.ProjectionApplied:N0} events so far); ask again shortly or ask another node.");
        }
    }

    private static IResult Loading(string message) => new LoadingResult(message);

    private sealed class LoadingResult(string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = "5";
            return Json(StatusCodes.Status503ServiceUnavailable, message).ExecuteAsync(httpContext);
        }
    }

    /// <summary>The JSON error answer; a 503 (loading, the shared state away) also tells the client when to retry.</summary>
    public static IResult Error(int status, string message) =>
        status == StatusCodes.Status503ServiceUnavailable ? Loading(message) : Json(status, message);

    private static IResult Json(int status, string message) =>
        Results.Json(new ErrorResponse(false, message), ErrorJson.Web.ErrorResponse, statusCode: status);

    public static AuditEntry Entry(Hub hub, HttpContext context, TokenInfo token, AccessScope scope, int rows, int status) => new(
        hub.Kpis.Time.GetUtcNow(), token.Id, Roles.Name(token.Role), $"{context.Request.Method} {context.Request.Path}",
        NormalizedParams(context.Request.Query), ScopeJson(token), InjectedJson(scope), rows, status);

    /// <summary>
    /// The query parameters sorted by name, as a JSON object. Tokens belong in the Authorization
    /// header, but one pasted into a URL by mistake must not land in the append-only log: anything
    /// shaped like a token is redacted.
    /// </summary>
    public static string NormalizedParams(IQueryCollection query) => KpiJson.Text(w =>
    {
        w.WriteStartObject();
        foreach (var (key, value) in query.OrderBy(q => q.Key, StringComparer.Ordinal))
        {
            // A person's id (recommendations, privacy export) is recorded by its hash only (docs/privacy.md).
            w.WriteString(SecretRedactor.Redact(key),
                SecretRedactor.IsSecretName(key) ? SecretRedactor.Redacted
                : Engine.Privacy.PersonIds.IsPersonIdName(key) ? Engine.Privacy.PersonIds.Hash(value.ToString())
                : SecretRedactor.Redact(value.ToString()));
        }
        w.WriteEndObject();
    });


    public static string ScopeJson(TokenInfo token) => KpiJson.Text(w =>
    {
        w.WriteStartObject();
        w.WriteString("role", Roles.Name(token.Role));
        Write(w, "countries", token.Countries);
        Write(w, "hubs", token.Hubs);
        Write(w, "zones", token.Zones);
        Write(w, "stores", token.Stores);
        w.WriteEndObject();
    });

    public static string InjectedJson(AccessScope scope) => KpiJson.Text(w =>
    {
        w.WriteStartObject();
        foreach (var (dimension, values) in scope.AsFilters())
        {
            Write(w, Dimensions.Name(dimension), values);
        }
        w.WriteEndObject();
    });

    private static void Write(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }
}
