using System.Text.Json.Serialization;
using Atalaya.Http;

namespace Atalaya.Privacy;

/// <summary>
/// The answer of <c>POST /api/privacy/erasure</c> when something was stored for the person: erased now
/// or already_erased, what was rewritten, and the person's id hashed (never in clear).
/// </summary>
internal sealed record ErasureAnswer(bool Success, string Status, string? ErasureId, int Ids, int Events, int Blocks, int Quarantined, string PersonHash);

/// <summary>The 404 of <c>POST /api/privacy/erasure</c>: nothing is stored for that person (with the hash the audit log records).</summary>
internal sealed record ErasureNotFound(bool Success, string Error, string PersonHash);

/// <summary>Source-generated JSON of the erasure answers (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ErasureAnswer))]
[JsonSerializable(typeof(ErasureNotFound))]
internal sealed partial class PrivacyJson : JsonSerializerContext
{
    public static PrivacyJson Web { get; } = new(Answers.Options());
}
