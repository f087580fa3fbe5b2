using System.Text.Json;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// The stores a cluster knows, read from the <c>store_created</c> events in ClickHouse: a collector
/// enriches an order with its store's country, hub, zone and category, as the embedded hub does from
/// its <c>stores</c> table. A node loads them at start and again now and then (a store created through
/// another node is known here after the next load; until then its orders carry the dimensions
/// their client sent).
/// </summary>
internal static class ClusterStores
{
    /// <summary>Sets every stored store in <paramref name="directory"/>, the latest store_created of each winning; returns how many were read.</summary>
    public static async Task<int> LoadAsync(ClickHouseClient client, StoreDirectory directory, CancellationToken ct)
    {
        var count = 0;
        await foreach (var row in client.QueryAsync(
            $"SELECT payload, toUnixTimestamp(ts) * 1000 + ts_ms FROM {EventsSchema.Events} WHERE event_type = 'store_created' ORDER BY ts, ts_ms", ct).ConfigureAwait(false))
        {
            if (Parse(row[0]!, long.Parse(row[1]!, System.Globalization.CultureInfo.InvariantCulture)) is { } store)
            {
                directory.Set(store);
                count++;
            }
        }
        return count;
    }

    private static StoreDimension? Parse(string payload, long timestampMs)
    {
        using var document = JsonDocument.Parse(payload);
        if (!document.RootElement.TryGetProperty("properties", out var p) || p.ValueKind != JsonValueKind.Object
            || Text(p, "store_id") is not { } storeId)
        {
            return null;
        }
        return new StoreDimension(storeId, Text(p, "store_name"), Text(p, "country"), Text(p, "hub"), Text(p, "zone"), Text(p, "category"), timestampMs);
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
