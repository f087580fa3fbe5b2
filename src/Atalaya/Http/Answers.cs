using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Atalaya.Http;

/// <summary>
/// What the typed answers share. Each feature declares its answers as <c>sealed record</c>s beside its
/// endpoints, with a source-generated context of its own (<c>AccessJson</c>, <c>JobsJson</c>, …) built
/// with <see cref="Options"/>; Hosting/HubHost.cs registers every context with ASP.NET Core, so that
/// <c>/openapi/v1.json</c> describes each answer's schema. Every member is written, null included, so a
/// client sees the same keys on every row (a record may say otherwise for one member, as the benchmark's
/// <c>reason</c>). The KPI rows stay hand-written (KpiJson): their keys follow group_by.
/// A new answer: a record, a <c>[JsonSerializable]</c> line on its feature's context, and
/// <c>.Produces&lt;T&gt;().Refusals()</c> on its endpoint.
/// </summary>
public static class Answers
{
    /// <summary>The options of every answer context: snake_case names, non-ASCII text (ñ, å) and quotes left unescaped.</summary>
    public static JsonSerializerOptions Options(bool omitNulls = false) => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = omitNulls ? JsonIgnoreCondition.WhenWritingNull : JsonIgnoreCondition.Never,
    };

    /// <summary>An answer's UTF-8 JSON, written through its generated type information.</summary>
    public static byte[] Bytes<T>(T answer, JsonTypeInfo<T> type) => JsonSerializer.SerializeToUtf8Bytes(answer, type);

    /// <summary>A figure as every answer writes it: cleaned (<see cref="Engine.Kpi.KpiValues.Clean"/>), null when missing or not finite.</summary>
    public static double? Number(double? value) => value is { } v && double.IsFinite(v) ? Engine.Kpi.KpiValues.Clean(v) : null;

    /// <summary>An instant as every answer writes it (<see cref="Engine.Jobs.PipelineRuns.Iso"/>), null when missing.</summary>
    public static string? Iso(DateTimeOffset? time) => time is { } t ? Engine.Jobs.PipelineRuns.Iso(t) : null;

    /// <summary>Stored JSON text (an audit entry's parameters, a run's details) as a value of an answer.</summary>
    public static JsonElement Stored(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// The refusals an audited call answers with <c>{"success": false, "error": "…"}</c>: 400 (a parameter
    /// or the body), 401 (no or an unknown token), 403 (the role or the scope), and any <paramref name="more"/> (404, 409…).
    /// </summary>
    public static RouteHandlerBuilder Refusals(this RouteHandlerBuilder endpoint, params int[] more) =>
        new[] { StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden }.Concat(more)
            .Aggregate(endpoint, (e, status) => e.Produces<ErrorResponse>(status));

    /// <summary>
    /// An OpenAPI schema transformer: a member left out when null (<c>[JsonIgnore(Condition = WhenWritingNull)]</c>,
    /// as the benchmark's <c>reason</c>) is not listed as required, since answers may come without it.
    /// </summary>
    public static Task OmittedWhenNull(Microsoft.OpenApi.OpenApiSchema schema, Microsoft.AspNetCore.OpenApi.OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var property in context.JsonTypeInfo.Properties)
        {
            if (property.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: false) is [JsonIgnoreAttribute { Condition: JsonIgnoreCondition.WhenWritingNull }, ..])
            {
                schema.Required?.Remove(property.Name);
            }
        }
        return Task.CompletedTask;
    }
}
