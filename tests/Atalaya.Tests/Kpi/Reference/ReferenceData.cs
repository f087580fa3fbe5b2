using System.Text.Json;

namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// The stored events read the way the KPI dictionary's rules describe, and nothing more: event ids
/// deduplicated (first stored wins), custom events (types outside the catalog) kept apart since they
/// are left out of every KPI, each event's dimensions (the latest stored store_created's when it
/// names a known store, else its context's), orders (earliest purchase_completed per order_id, ties first stored), the
/// ledger of final statuses (<see cref="ReferenceLedger"/>) and sessions.
/// It never calls engine code: its input is the JSON that <c>StoredEvents.All</c> reads from SQLite.
/// </summary>
public sealed class ReferenceData
{
    private ReferenceData(List<ReferenceEvent> all)
    {
        AllEvents = all;
        var events = all.Where(e => !e.IsCustom).ToList();
        Events = events;
        Orders = [.. events
            .Where(e => e.Type == "purchase_completed" && e.Text("order_id") is not null)
            .GroupBy(e => e.Text("order_id")!, StringComparer.Ordinal)
            .Select(g => g.OrderBy(e => e.Timestamp).ThenBy(e => e.Seq).First())
            .OrderBy(e => e.Timestamp).ThenBy(e => e.Seq)];
        Ledger = ReferenceLedger.Lines(events);
        LatestStatus = ReferenceLedger.LatestStatus(events);
        Sessions = [.. events
            .Where(e => e.SessionId is not null)
            .GroupBy(e => e.SessionId!, StringComparer.Ordinal)
            .Select(g => new ReferenceSession(g.Key, g))
            .OrderBy(s => s.Start).ThenBy(s => s.First.Seq)];
    }

    /// <summary>Every stored event once, custom ones included (funnels may name them), by timestamp (ties in storage order).</summary>
    public IReadOnlyList<ReferenceEvent> AllEvents { get; }

    /// <summary>Every stored event of the catalog once, by timestamp (ties in storage order): what KPIs read.</summary>
    public IReadOnlyList<ReferenceEvent> Events { get; }

    /// <summary>The purchase_completed event that is each order.</summary>
    public IReadOnlyList<ReferenceEvent> Orders { get; }

    /// <summary>The lines of the order ledger: deliveries, cancellations and refunds, by timestamp.</summary>
    public IReadOnlyList<LedgerLine> Ledger { get; }

    /// <summary>Each order's latest final status (ENTREGADO, CANCELADO, REEMBOLSADO) now.</summary>
    public IReadOnlyDictionary<string, string> LatestStatus { get; }

    public IReadOnlyList<ReferenceSession> Sessions { get; }

    public static ReferenceData FromStored(IEnumerable<JsonElement> stored)
    {
        var rows = stored.Select((json, seq) => (Json: json, Seq: (long)seq)).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        rows = [.. rows.Where(r => seen.Add(r.Json.GetProperty("event_id").GetString()!))];

        // A store's dimensions come from its latest stored store_created, wherever that event sits
        // in the log relative to the events that name the store (even after them).
        var stores = rows
            .Where(r => Text(r.Json, "event_type") == "store_created")
            .Select(r => (r.Seq, Properties: r.Json.GetProperty("properties")))
            .Where(s => Text(s.Properties, "store_id") is not null)
            .GroupBy(s => Text(s.Properties, "store_id")!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Seq).Last().Properties, StringComparer.Ordinal);

        var events = rows.Select(r => Read(r.Json, r.Seq, stores))
            .OrderBy(e => e.Timestamp).ThenBy(e => e.Seq)
            .ToList();
        return new ReferenceData(events);
    }

    private static ReferenceEvent Read(JsonElement json, long seq, Dictionary<string, JsonElement> stores)
    {
        var properties = json.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var context = json.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var storeId = Text(properties, "store_id");
        var placeOwner = storeId is not null && stores.TryGetValue(storeId, out var store) ? store : context;
        var dimensions = new Dimensions(
            Country: Text(placeOwner, "country"),
            Hub: Text(placeOwner, "hub"),
            Zone: Text(placeOwner, "zone"),
            Source: Text(context, "source"),
            Platform: Text(context, "platform"),
            StoreId: storeId,
            Category: Text(placeOwner, "category"),
            AppId: Text(context, "app_id"),
            SourceSystem: Text(json, "source_system"),
            Priority: Text(json, "event_type") == "lead_created" ? Text(properties, "priority") : null);
        decimal? fx = json.TryGetProperty("fx_rate_to_reporting", out var rate) && rate.ValueKind == JsonValueKind.Number
            ? rate.GetDecimal()
            : null;
        return new ReferenceEvent(seq, Text(json, "event_id")!, Text(json, "event_type")!, Timestamp(json),
            User: Text(json, "user_id") ?? Text(json, "anonymous_id"),
            SessionId: Text(json, "session_id"),
            dimensions, properties, fx,
            IsCustom: json.TryGetProperty("custom", out var custom) && custom.ValueKind == JsonValueKind.True);
    }

    private static DateTimeOffset Timestamp(JsonElement json) => json.GetProperty("timestamp").GetDateTimeOffset();

    private static string? Text(JsonElement owner, string name) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;
}
