using System.Text.Json.Serialization;

namespace Atalaya.Engine;

/// <summary>Source-generated JSON metadata for the few engine types serialized with the serializer.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(IReadOnlyList<string>))]
public sealed partial class EngineJson : JsonSerializerContext;
