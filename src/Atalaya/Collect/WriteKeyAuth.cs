using System.Text;
using Atalaya.Engine.Access;
using Atalaya.Http;

namespace Atalaya.Collect;

/// <summary>
/// Finds the write key of a collector request: <c>Authorization: Bearer</c>, HTTP Basic username
/// (Segment and RudderStack SDKs), a <c>writeKey</c> in a Segment body, or <c>?writeKey=</c> on a
/// Segment batch (browser beacons). Only write keys pass;
/// a read token is refused, so a leaked dashboard token cannot inject events.
/// </summary>
public static class WriteKeyAuth
{
    public static string? FromHeaders(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                return colon < 0 ? decoded : decoded[..colon];
            }
            catch (FormatException)
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>
    /// <c>?writeKey=</c>, for browsers' <c>navigator.sendBeacon</c>, which cannot set headers
    /// (RudderStack's beacon mode posts <c>/beacon/v1/batch?writeKey=…</c>).
    /// </summary>
    public static string? FromQuery(HttpRequest request) =>
        request.Query.TryGetValue("writeKey", out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    /// <summary>The write key's token, or a refusal (401 unknown / 403 not a write key).</summary>
    public static TokenInfo Check(TokenStore tokens, string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new BodyException(StatusCodes.Status401Unauthorized,
                "A write key is required: send Authorization: Bearer <key> (or HTTP Basic with the key as username). Create one with `atalaya tokens create --role write --source NAME`.");
        }
        var token = Access.ReadAccess.Authenticate(tokens, key)
            ?? throw new BodyException(StatusCodes.Status401Unauthorized, "The write key is unknown or revoked.");
        if (token.Role != Role.Write)
        {
            throw new BodyException(StatusCodes.Status403Forbidden,
                $"This is a {Roles.Name(token.Role)} token; only write keys can send events.");
        }
        return token;
    }
}
