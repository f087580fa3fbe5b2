using System.Globalization;
using System.Text.Json.Serialization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Reports;
using Atalaya.Http;

namespace Atalaya.Reports;

/// <summary>One stored report as <c>GET /api/reports</c> lists it, with the path that downloads its file.</summary>
internal sealed record ReportView(
    string Id, string Kind, string PeriodStart, string PeriodEnd, string Scope, string Locale, string FileName, string ContentType,
    long Bytes, string Sha256, string CreatedAt, string? RunId, string Url)
{
    public static ReportView Of(StoredReport x) => new(
        x.Id, ReportKinds.Name(x.Kind), Day(x.PeriodStart), Day(x.PeriodEnd), x.Scope.Label, x.Locale, x.FileName, x.ContentType,
        x.Bytes, x.Sha256, PipelineRuns.Iso(x.CreatedAt), x.RunId, "/api/reports/" + Uri.EscapeDataString(x.Id));

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

/// <summary>The answer of <c>GET /api/reports</c>: reports newest period first, and how many.</summary>
internal sealed record ReportList(IReadOnlyList<ReportView> Data, int Count);

/// <summary>Source-generated JSON of the reports list (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ReportList))]
internal sealed partial class ReportsJson : JsonSerializerContext
{
    public static ReportsJson Web { get; } = new(Answers.Options());
}
