namespace Atalaya.Engine.Kpi;

/// <summary>The dimensions a KPI can be filtered and grouped by (CONTRACT §3.1), in contract order.</summary>
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
