using Atalaya.Engine.Jobs;
using Atalaya.Engine.Quality;
using Atalaya.Hosting;

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
        x.Check, x.Subject, QualityResult.StatusName(x.Status), AnswerJson.Number(x.Value), x.Unit, AnswerJson.Number(x.WarnAt), AnswerJson.Number(x.FailAt),
        x.Message, PipelineRuns.Iso(x.CheckedAt), x.RunId);
}

/// <summary>
/// The <c>quality</c> member of every KPI answer (docs/quality.md): the state of the data the figures
/// were computed from, as the newest data-quality run found it, limited to the caller's scope.
/// </summary>
internal sealed record FigureHealthView(string State, string? CheckedAt, string? RunId, string? StaleSince, IReadOnlyList<FigureHealthFinding> Findings)
{
    public static FigureHealthView Of(FigureHealth health) => new(
        FigureHealth.Name(health.State), AnswerJson.Iso(health.CheckedAt), health.RunId, AnswerJson.Iso(health.StaleSince),
        [.. health.Findings.Select(f => new FigureHealthFinding(f.Check, f.Subject, f.Country, QualityResult.StatusName(f.Status), f.Detail, AnswerJson.Iso(f.Since), f.Metrics))]);
}

/// <summary>A finding that concerns an answer's figures, and the metrics it concerns.</summary>
internal sealed record FigureHealthFinding(string Check, string Subject, string? Country, string Status, string Detail, string? Since, IReadOnlyList<string> Metrics);
