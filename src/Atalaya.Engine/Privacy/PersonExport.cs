using System.Text.Json;
using System.Text.Json.Nodes;

namespace Atalaya.Engine.Privacy;

/// <summary>
/// An access request's answer (docs/privacy.md): everything the hub stores about one person as one
/// JSON document — their ids (the one asked for and the linked ones), every stored event that names
/// them as stored, their quarantined payloads, and the erasures recorded for the id asked for. The
/// KPI tables, marts and snapshots hold no more than these events do (aggregates and dense ids). On
/// a cluster node the events are searched in ClickHouse (<see cref="ClickHousePersonFinder"/>).
/// </summary>
public static class PersonExport
{
    /// <summary>The export, or null when nothing about the id is stored.</summary>
    /// <exception cref="Postgres.StateUnavailableException">On a cluster node, ClickHouse cannot be reached (retry later).</exception>
    public static byte[]? Build(PersonalDataStores stores, PersonRef person)
    {
        var trace = stores.ClusterEvents is { } clickHouse ? FindOnCluster(clickHouse, stores, person) : PersonFinder.Find(stores, person);
        if (!trace.Found)
        {
            return null;
        }
        var document = new JsonObject
        {
            [person.Kind] = person.Id,
            ["generated_at"] = stores.Kpis.Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["user_ids"] = new JsonArray([.. trace.UserIds.Select(id => (JsonNode?)id)]),
            ["anonymous_ids"] = new JsonArray([.. trace.AnonymousIds.Select(id => (JsonNode?)id)]),
            ["event_count"] = trace.Events.Count,
            ["events"] = new JsonArray([.. trace.Events.Select(e => (JsonNode?)e.DeepClone())]),
            ["quarantined"] = new JsonArray([.. trace.Quarantined.Select(q => (JsonNode?)q.DeepClone())]),
        };
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(output, Collect.EventNormalizer.WriterOptions))
        {
            document.WriteTo(writer);
        }
        return output.WrittenSpan.ToArray();
    }

    private static PersonTrace FindOnCluster(ClickHouse.ClickHouseClient clickHouse, PersonalDataStores stores, PersonRef person)
    {
        try
        {
            // The callers (an HTTP operation, the CLI) are synchronous; the search is a few queries.
            return ClickHousePersonFinder.FindAsync(clickHouse, stores.Database, stores.SharedRefusals, person, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (ClickHouse.ClickHouseUnavailableException e)
        {
            throw new Postgres.StateUnavailableException($"ClickHouse cannot be reached to search the cluster's events: {e.Message}", e) { Store = "ClickHouse" };
        }
    }
}
