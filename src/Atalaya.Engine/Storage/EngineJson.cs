using System.Text.Json;
using System.Text.Json.Serialization;

namespace Atalaya.Engine.Storage;

/// <summary>Source-generated JSON metadata for the few engine types serialized with the serializer.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class EngineJson : JsonSerializerContext
{
    /// <summary>Keeps non-ASCII text readable in stored JSON (quarantine reasons).</summary>
    public static EngineJson Relaxed { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
