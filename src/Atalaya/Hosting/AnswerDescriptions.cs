using Atalaya.Collect;

namespace Atalaya.Hosting;

/// <summary>How the OpenAPI document describes what every audited endpoint may answer besides its own answer.</summary>
public static class AnswerDescriptions
{
    /// <summary>
    /// The refusals an audited call answers with <c>{"success": false, "error": "…"}</c>: 400 (a parameter
    /// or the body), 401 (no or an unknown token), 403 (the role or the scope), and any <paramref name="more"/> (404, 409…).
    /// </summary>
    public static RouteHandlerBuilder Refusals(this RouteHandlerBuilder endpoint, params int[] more) =>
        new[] { StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden }.Concat(more)
            .Aggregate(endpoint, (e, status) => e.Produces<ErrorResponse>(status));
}
