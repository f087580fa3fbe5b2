namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// The nine dimensions of an event, as the KPI dictionary's rules assign them: country, hub, zone
/// and category from the event's store when it names a known store_id, else from its context;
/// source, platform and app_id always from the context; store_id from the event's properties;
/// source_system from the stored event's own source_system; priority from a lead_created's properties (other events have none).
/// </summary>
public sealed record Dimensions(
    string? Country, string? Hub, string? Zone, string? Source, string? Platform, string? StoreId, string? Category, string? AppId, string? SourceSystem = null, string? Priority = null)
{
    /// <summary>The dimension names the metrics API accepts as filters and group_by, in the documented order.</summary>
    public static readonly IReadOnlyList<string> Names = ["country", "hub", "zone", "source", "platform", "store_id", "category", "app_id", "source_system", "priority"];

    public static readonly Dimensions None = new(null, null, null, null, null, null, null, null);

    public string? Get(string name) => name switch
    {
        "country" => Country,
        "hub" => Hub,
        "zone" => Zone,
        "source" => Source,
        "platform" => Platform,
        "store_id" => StoreId,
        "category" => Category,
        "app_id" => AppId,
        "source_system" => SourceSystem,
        "priority" => Priority,
        _ => throw new ArgumentException($"Unknown dimension {name}.", nameof(name)),
    };
}
