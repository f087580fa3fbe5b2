using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;
using Atalaya.Http;

namespace Atalaya.Access;

/// <summary>What a read endpoint gets: the hub, its parsed parameters, who is asking and what they may see.</summary>
public sealed record ReadContext(Hub Hub, KpiParameters Parameters, TokenInfo Token, AccessScope Scope);

/// <summary>A read endpoint's answer: the JSON body and how many rows it holds (for the audit log).</summary>
public sealed record ReadAnswer(byte[] Json, int Rows);

/// <summary>
/// The one path of every metrics read: token (401/403) → parameters (400) → the endpoint, which
/// passes the token's scope to the engine (403 for a filter outside it) → an audit entry with who,
/// what, the normalized parameters, the scope, the filters the scope injected and the rows
/// returned, committed before the answer is sent.
/// </summary>
public static class ReadCall
{
    public static async Task<IResult> RunAsync(HttpContext context, HubState state, IReadOnlyCollection<string> allowed, Func<ReadContext, ReadAnswer> run)
    {
        Hub hub;
        TokenInfo token;
        try
        {
            hub = state.Require();
            token = ReadAccess.Check(hub.Tokens, context.Request);
        }
        catch (BodyException e)
        {
            return Error(e.StatusCode, e.Message);
        }
        var scope = AccessScope.Of(token);
        IResult result;
        int status, rows = 0;
        try
        {
            var parameters = new KpiParameters(context.Request.Query, allowed, hub.Kpis.Time);
            var answer = run(new ReadContext(hub, parameters, token, scope));
            rows = answer.Rows;
            status = StatusCodes.Status200OK;
            result = Results.Bytes(answer.Json, "application/json");
        }
        catch (BodyException e)
        {
            (status, result) = (e.StatusCode, Error(e.StatusCode, e.Message));
        }
        catch (ScopeViolationException e)
        {
            (status, result) = (StatusCodes.Status403Forbidden, Error(StatusCodes.Status403Forbidden, e.Message));
        }
        catch (KpiQueryException e)
        {
            (status, result) = (StatusCodes.Status400BadRequest, Error(StatusCodes.Status400BadRequest, e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            (status, result) = (StatusCodes.Status500InternalServerError, Unexpected(context, e));
        }
        await AuditAsync(hub, context, Entry(hub, context, token, scope, rows, status)).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// A served read (a GET answered 200) is audited within the audit log's read window, after the
    /// answer; a refused read and any change are committed before the answer (docs/access.md).
    /// A refused read whose entry cannot be written (a full disk) is still refused, and the failure logged.
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
        catch (Exception e) when (!change && e is Microsoft.Data.Sqlite.SqliteException or IOException)
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

    public static IResult Error(int status, string message) =>
        Results.Json(new ErrorResponse(false, message), AtalayaJson.Web.ErrorResponse, statusCode: status);

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
