using System.Text.Json.Nodes;

namespace Atalaya.Tests.Robustness;

/// <summary>A valid event of one kind, built for a given event_id, and the paths of its required fields.</summary>
public sealed record EventTemplate(string Name, Func<string, JsonObject> Build, IReadOnlyList<string> Required);
