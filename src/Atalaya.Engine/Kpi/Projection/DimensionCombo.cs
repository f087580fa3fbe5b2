namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// One distinct combination of an event's nine dimension values (pool ids, 0 = none). Events
/// store only the combination's id: marketplaces have a few thousand combinations against
/// millions of events, so filters and group keys are evaluated once per combination per query
/// instead of once per event, and each event carries 4 bytes of dimensions instead of 32.
/// </summary>
public readonly record struct DimensionCombo(int Country, int Hub, int Zone, int Category, int Source, int Platform, int AppId, int Store, int SourceSystem)
{
    public int Get(Dimension d) => d switch
    {
        Dimension.Country => Country,
        Dimension.Hub => Hub,
        Dimension.Zone => Zone,
        Dimension.Category => Category,
        Dimension.Source => Source,
        Dimension.Platform => Platform,
        Dimension.AppId => AppId,
        Dimension.StoreId => Store,
        Dimension.SourceSystem => SourceSystem,
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };
}

/// <summary>The dictionary of dimension combinations (ids from 0, in order of first sight).</summary>
public sealed class ComboTable
{
    private readonly Dictionary<DimensionCombo, int> _ids = [];
    private readonly List<DimensionCombo> _combos = [];

    public int Count => _combos.Count;

    public DimensionCombo this[int id] => _combos[id];

    public int Intern(in DimensionCombo combo)
    {
        if (_ids.TryGetValue(combo, out var id))
        {
            return id;
        }
        id = _combos.Count;
        _ids.Add(combo, id);
        _combos.Add(combo);
        return id;
    }

    internal void Write(BinaryWriter writer)
    {
        ProjectionSnapshot.WriteArray<DimensionCombo>(writer, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_combos));
    }

    internal void Read(BinaryReader reader)
    {
        foreach (var combo in ProjectionSnapshot.ReadArray<DimensionCombo>(reader))
        {
            Intern(combo);
        }
    }
}
