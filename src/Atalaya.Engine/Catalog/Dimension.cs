namespace Atalaya.Engine.Catalog;

/// <summary>The dimensions a KPI can be filtered and grouped by: docs/metrics-api.md's eight, in contract order, then
/// <c>source_system</c> (the grain of <c>fact_kpi_daily</c>, seed 002) and the leads' <c>priority</c>.</summary>
public enum Dimension
{
    Country,
    Hub,
    Zone,
    Source,
    Platform,
    StoreId,
    Category,
    AppId,

    /// <summary>The system that sent the event: the write key's source (e.g. web, ga4, meta), stored with every event.</summary>
    SourceSystem,

    /// <summary><c>lead_created.priority</c>: a dimension of the lead KPIs; every other event has none.</summary>
    Priority,
}

public static class Dimensions
{
    public static readonly Dimension[] All = Enum.GetValues<Dimension>();

    /// <summary>The parameter and field name of each dimension.</summary>
    public static string Name(Dimension d) => d switch
    {
        Dimension.Country => "country",
        Dimension.Hub => "hub",
        Dimension.Zone => "zone",
        Dimension.Source => "source",
        Dimension.Platform => "platform",
        Dimension.StoreId => "store_id",
        Dimension.Category => "category",
        Dimension.AppId => "app_id",
        Dimension.SourceSystem => "source_system",
        Dimension.Priority => "priority",
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    public static bool TryParse(string name, out Dimension dimension)
    {
        foreach (var d in All)
        {
            if (string.Equals(Name(d), name, StringComparison.Ordinal))
            {
                dimension = d;
                return true;
            }
        }
        dimension = default;
        return false;
    }

    public static string AllowedNames => string.Join(", ", All.Select(Name));
}
