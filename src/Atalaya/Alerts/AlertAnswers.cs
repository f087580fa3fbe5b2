using System.Text.Json.Serialization;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Jobs;
using Atalaya.Http;

namespace Atalaya.Alerts;

/// <summary>One alert as the API shows it (docs/alerts.md): null resolved_at while it fires, null acknowledged_* until acknowledged.</summary>
internal sealed record AlertView(
    string AlertId, string Rule, string Subject, string Severity, string State, string StartedAt, string? ResolvedAt, double? Value, double? Threshold,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Scope, string Message, string? AcknowledgedAt, string? AcknowledgedBy)
{
    public static AlertView Of(Alert a) => new(
        a.AlertId, a.Rule, a.Subject, a.Severity, a.State, PipelineRuns.Iso(a.StartedAt), Answers.Iso(a.ResolvedAt),
        Answers.Number(a.Value), Answers.Number(a.Threshold), a.Scope, a.Message,
        Answers.Iso(a.AckedAt), a.AckedAt is null ? null : a.AckedBy);
}

/// <summary>The answer of <c>GET /api/alerts</c>: firing first, newest first.</summary>
internal sealed record AlertList(IReadOnlyList<AlertView> Data);

/// <summary>Source-generated JSON of the alerts answers (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AlertList))]
[JsonSerializable(typeof(AlertView))]
internal sealed partial class AlertsJson : JsonSerializerContext
{
    public static AlertsJson Web { get; } = new(Answers.Options());
}
