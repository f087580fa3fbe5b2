using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Http;

namespace Atalaya.Access;

/// <summary>
/// Who may read metrics: a Bearer token of a read role (admin, analyst, country_ops_lead, vendor).
/// Write keys only reach the collector; unknown or revoked tokens get 401. Scopes narrow what a
/// reader sees (<see cref="Engine.Access.AccessScope"/>), enforced by the KPI engine itself.
/// </summary>
public static class ReadAccess
{
    public static TokenInfo Check(TokenStore tokens, HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw new BodyException(StatusCodes.Status401Unauthorized,
                "A read token is required: send Authorization: Bearer <token>. Create one with `atalaya tokens create --role admin` (or analyst, country_ops_lead, vendor).");
        }
        var token = Authenticate(tokens, header[7..].Trim())
            ?? throw new BodyException(StatusCodes.Status401Unauthorized, "The token is unknown or revoked.");
        if (token.Role == Role.Write)
        {
            throw new BodyException(StatusCodes.Status403Forbidden, "Write keys can only send events; use a read token (admin, analyst, country_ops_lead or vendor).");
        }
        return token;
    }

    /// <summary>
    /// <see cref="TokenStore.Authenticate"/>, with a token store that cannot be reached (PostgreSQL
    /// away, on a cluster) answered as a 503 the client retries, not a 500.
    /// </summary>
    /// <exception cref="BodyException">503 while the token store cannot be reached.</exception>
    public static TokenInfo? Authenticate(TokenStore tokens, string? secret)
    {
        try
        {
            return tokens.Authenticate(secret);
        }
        catch (StateUnavailableException)
        {
            throw Unavailable();
        }
    }

    /// <summary>
    /// The 503 of a call that needs the shared state while it cannot be reached. The answer may go to
    /// anyone (before a token is known), so it does not name the server's address.
    /// </summary>
    public static BodyException Unavailable(string store = "PostgreSQL") =>
        new(StatusCodes.Status503ServiceUnavailable, $"The hub's shared state ({store}) cannot be reached right now; retry shortly.");
}
