using System.Text.Json;
using System.Text.Json.Serialization;
using Atalaya.Engine.Quality;

namespace Atalaya.Http;

/// <summary>
/// Writes the <c>quality</c> member (<see cref="FigureHealthView"/>) into the hand-written KPI answers
/// (Kpi/KpiJson.cs), through generated JSON as the typed answers are.
/// </summary>
public static class HealthJson
{
    private static readonly FigureHealthJson Json = new(Answers.Options());

    public static void Write(Utf8JsonWriter w, FigureHealth health)
    {
        w.WritePropertyName("quality");
        JsonSerializer.Serialize(w, FigureHealthView.Of(health), Json.FigureHealthView);
    }
}

/// <summary>
/// The <c>quality</c> member of every KPI answer (docs/quality.md): the state of the data the figures
/// were computed from, as the newest data-quality run found it, limited to the caller's scope.
/// </summary>
internal sealed record FigureHealthView(string State, string? CheckedAt, string? RunId, string? StaleSince, IReadOnlyList<FigureHealthFinding> Findings)
{
    public static FigureHealthView Of(FigureHealth health) => new(
        FigureHealth.Name(health.State), Answers.Iso(health.CheckedAt), health.RunId, Answers.Iso(health.StaleSince),
        [.. health.Findings.Select(f => new FigureHealthFinding(f.Check, f.Subject, f.Country, QualityResult.StatusName(f.Status), f.Detail, Answers.Iso(f.Since), f.Metrics))]);
}

/// <summary>A finding that concerns an answer's figures, and the metrics it concerns.</summary>
internal sealed record FigureHealthFinding(string Check, string Subject, string? Country, string Status, string Detail, string? Since, IReadOnlyList<string> Metrics);

/// <summary>Source-generated JSON of the <c>quality</c> member.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(FigureHealthView))]
internal sealed partial class FigureHealthJson : JsonSerializerContext;
