using Atalaya.Engine.Access;
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
        var token = tokens.Authenticate(header[7..].Trim())
            ?? throw new BodyException(StatusCodes.Status401Unauthorized, "The token is unknown or revoked.");
        if (token.Role == Role.Write)
        {
            throw new BodyException(StatusCodes.Status403Forbidden, "Write keys can only send events; use a read token (admin, analyst, country_ops_lead or vendor).");
        }
        return token;
    }
}
