using System.Text.Json.Serialization;

namespace Atalaya.Http;

/// <summary>A request refused as a whole: the JSON answer of a <see cref="BodyException"/>.</summary>
public sealed record ErrorResponse(bool Success, string Error);

/// <summary>Source-generated JSON of <see cref="ErrorResponse"/>, which every feature answers with (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class ErrorJson : JsonSerializerContext
{
    public static ErrorJson Web { get; } = new(Answers.Options());
}
