using System.Text.Json.Serialization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Quality;
using Atalaya.Http;

namespace Atalaya.Quality;

/// <summary>
/// The answer of <c>GET /api/quality</c>: the run (all null before the first data-quality run), its
/// overall status and counts over every finding, and the findings the filters kept, worst first.
/// </summary>
internal sealed record QualityAnswer(string? RunId, string? CheckedAt, string? Status, IReadOnlyDictionary<string, int> Counts, IReadOnlyList<QualityFinding> Data);

/// <summary>One finding of a data-quality check, with the limits it was judged by.</summary>
internal sealed record QualityFinding(
    string Check, string Subject, string Status, double? Value, string Unit, double? WarnAt, double? FailAt, string Message, string CheckedAt, string RunId)
{
    public static QualityFinding Of(QualityResult x) => new(
        x.Check, x.Subject, QualityResult.StatusName(x.Status), Answers.Number(x.Value), x.Unit, Answers.Number(x.WarnAt), Answers.Number(x.FailAt),
        x.Message, PipelineRuns.Iso(x.CheckedAt), x.RunId);
}

/// <summary>Source-generated JSON of the data-quality answer (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(QualityAnswer))]
internal sealed partial class QualityJson : JsonSerializerContext
{
    public static QualityJson Web { get; } = new(Answers.Options());
}
