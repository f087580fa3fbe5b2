using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Atalaya.Access;
using Atalaya.Alerts;
using Atalaya.Jobs;
using Atalaya.Privacy;
using Atalaya.Quality;
using Atalaya.Reports;
using Atalaya.Slo;

namespace Atalaya.Hosting;

/// <summary>
/// Source-generated JSON of the fixed-shape answers (me, tokens, audit, jobs, runs, quality, alerts,
/// reports, SLOs, erasure, the peer benchmark): typed records, so that <c>/openapi/v1.json</c> describes
/// each answer's schema. Unlike <see cref="AtalayaJson"/> every member is written, null included, so a
/// client sees the same keys on every row (a record may say otherwise for one member, as the
/// benchmark's <c>reason</c>). The KPI rows stay hand-written (Kpi/KpiJson.cs): their keys follow group_by.
/// A new answer: a <c>sealed record</c> in its feature's folder, a <c>[JsonSerializable]</c> line here,
/// and <c>.Produces&lt;T&gt;().Refusals()</c> on its endpoint.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(MeAnswer))]
[JsonSerializable(typeof(TokenList))]
[JsonSerializable(typeof(CreatedToken))]
[JsonSerializable(typeof(RevokedToken))]
[JsonSerializable(typeof(AuditList))]
[JsonSerializable(typeof(RunList))]
[JsonSerializable(typeof(JobList))]
[JsonSerializable(typeof(RunStarted))]
[JsonSerializable(typeof(QualityAnswer))]
[JsonSerializable(typeof(FigureHealthView))]
[JsonSerializable(typeof(AlertList))]
[JsonSerializable(typeof(AlertView))]
[JsonSerializable(typeof(ReportList))]
[JsonSerializable(typeof(SloAnswer))]
[JsonSerializable(typeof(Kpi.BenchmarkAnswer))]
[JsonSerializable(typeof(ErasureAnswer))]
[JsonSerializable(typeof(ErasureNotFound))]
internal sealed partial class AnswerJson : JsonSerializerContext
{
    /// <summary>The context the answers are written with: non-ASCII text (ñ, å) and quotes left unescaped, as <see cref="AtalayaJson.Web"/>.</summary>
    public static AnswerJson Web { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>An answer's UTF-8 JSON, written through its generated type information.</summary>
    public static byte[] Bytes<T>(T answer, JsonTypeInfo<T> type) => JsonSerializer.SerializeToUtf8Bytes(answer, type);

    /// <summary>A figure as every answer writes it: cleaned (<see cref="Engine.Kpi.KpiValues.Clean"/>), null when missing or not finite.</summary>
    public static double? Number(double? value) => value is { } v && double.IsFinite(v) ? Engine.Kpi.KpiValues.Clean(v) : null;

    /// <summary>An instant as every answer writes it (<see cref="Engine.Jobs.PipelineRuns.Iso"/>), null when missing.</summary>
    public static string? Iso(DateTimeOffset? time) => time is { } t ? Engine.Jobs.PipelineRuns.Iso(t) : null;

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

    /// <summary>Stored JSON text (an audit entry's parameters, a run's details) as a value of an answer.</summary>
    public static JsonElement Stored(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
