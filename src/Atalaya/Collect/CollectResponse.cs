using System.Text.Json.Serialization;
using Atalaya.Http;

namespace Atalaya.Collect;

/// <summary>The collector's answer (docs/collector.md).</summary>
public sealed record CollectResponse(
    bool Success,
    int Accepted,
    int Duplicates,
    IReadOnlyList<RejectedEvent> Rejected,
    string? Error = null);

/// <summary>One refused event in a <see cref="CollectResponse"/>.</summary>
public sealed record RejectedEvent(int Index, string? EventId, IReadOnlyList<string> Errors);

/// <summary>Source-generated JSON of the collector's answer; an absent error is left out, as docs/collector.md shows.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CollectResponse))]
internal sealed partial class CollectJson : JsonSerializerContext
{
    public static CollectJson Web { get; } = new(Answers.Options(omitNulls: true));
}
