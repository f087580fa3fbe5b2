using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Atalaya.Collect;
using Atalaya.Health;
using Atalaya.Http;

namespace Atalaya;

/// <summary>Source-generated JSON for every HTTP response type: no reflection on the hot path.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CollectResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(Webhooks.WebhookResponse))]
public sealed partial class AtalayaJson : JsonSerializerContext
{
    /// <summary>
    /// The context HTTP responses use: like <see cref="JsonSerializerContext"/>'s default but
    /// leaving non-ASCII text (ñ, å, ±) and quotes unescaped, so messages read as written.
    /// </summary>
    public static AtalayaJson Web { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
