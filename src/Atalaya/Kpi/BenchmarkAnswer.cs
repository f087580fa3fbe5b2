using System.Text.Json.Serialization;
using Atalaya.Http;

namespace Atalaya.Kpi;

/// <summary>
/// The answer of <c>GET /api/kpi/benchmark</c>: the store's figure beside its peers' quartiles (same
/// category and country), or, when fewer than <c>min_peers</c> comparable stores have data, null
/// quartiles and the <c>reason</c> (present only then).
/// </summary>
internal sealed record BenchmarkAnswer(
    string Metric, string StoreId, string? Country, string? Category, double? Value, bool Available, int Peers, int MinPeers,
    double? P25, double? Median, double? P75,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason,
    string StartDate, string EndDate, IReadOnlyDictionary<string, int> KpiVersions);

/// <summary>Source-generated JSON of the peer benchmark answer (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BenchmarkAnswer))]
internal sealed partial class BenchmarkJson : JsonSerializerContext
{
    public static BenchmarkJson Web { get; } = new(Answers.Options());
}
