using Atalaya.Engine.Alerts;
using Atalaya.Engine.Jobs;
using Atalaya.Hosting;

namespace Atalaya.Alerts;

/// <summary>One alert as the API shows it (docs/alerts.md): null resolved_at while it fires, null acknowledged_* until acknowledged.</summary>
internal sealed record AlertView(
    string AlertId, string Rule, string Subject, string Severity, string State, string StartedAt, string? ResolvedAt, double? Value, double? Threshold,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Scope, string Message, string? AcknowledgedAt, string? AcknowledgedBy)
{
    public static AlertView Of(Alert a) => new(
        a.AlertId, a.Rule, a.Subject, a.Severity, a.State, PipelineRuns.Iso(a.StartedAt), AnswerJson.Iso(a.ResolvedAt),
        AnswerJson.Number(a.Value), AnswerJson.Number(a.Threshold), a.Scope, a.Message,
        AnswerJson.Iso(a.AckedAt), a.AckedAt is null ? null : a.AckedBy);
}

/// <summary>The answer of <c>GET /api/alerts</c>: firing first, newest first.</summary>
internal sealed record AlertList(IReadOnlyList<AlertView> Data);
