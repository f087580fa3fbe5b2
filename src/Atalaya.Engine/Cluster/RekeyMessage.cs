using System.Text.Json.Nodes;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// A control message on the written-events exchange (docs/scale-out.md, "Erasure on a cluster"):
/// an erasure rewrote a person's rows in ClickHouse, and every node's KPI projection gives each old
/// id's dense id to its pseudonym (so every figure stays) and its recommendation model forgets the
/// person. It travels on the same exchange as the written events, so each node's feed applies it in
/// order with them: every event published before it first. Marked by the <see cref="Header"/> header.
/// </summary>
internal sealed record RekeyMessage(string ErasureId, IReadOnlyDictionary<string, string> Pseudonyms, IReadOnlyList<string> UserIds, IReadOnlyList<string> AnonymousIds)
{
    /// <summary>The header that marks a message of the written-events exchange as a re-keying (its value is the erasure id).</summary>
    public const string Header = "atalaya-rekey";

    public byte[] ToJson() => System.Text.Encoding.UTF8.GetBytes(new JsonObject
    {
        ["erasure_id"] = ErasureId,
        ["pseudonyms"] = new JsonObject(Pseudonyms.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        ["user_ids"] = new JsonArray([.. UserIds.Select(id => (JsonNode?)id)]),
        ["anonymous_ids"] = new JsonArray([.. AnonymousIds.Select(id => (JsonNode?)id)]),
    }.ToJsonString());

    /// <summary>The message, or null when the body is not one (a node never applies half a message).</summary>
    public static RekeyMessage? Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            if (JsonNode.Parse(body) is not JsonObject o || o["erasure_id"]?.GetValue<string>() is not { } id || o["pseudonyms"] is not JsonObject pseudonyms)
            {
                return null;
            }
            return new RekeyMessage(id,
                pseudonyms.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal),
                [.. (o["user_ids"] as JsonArray ?? []).Select(v => v!.GetValue<string>())],
                [.. (o["anonymous_ids"] as JsonArray ?? []).Select(v => v!.GetValue<string>())]);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
