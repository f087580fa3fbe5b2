using Atalaya.Engine.Catalog;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// One distinct combination of an event's nine dimension values (pool ids, 0 = none). Events
/// store only the combination's id: marketplaces have a few thousand combinations against
/// millions of events, so filters and group keys are evaluated once per combination per query
/// instead of once per event, and each event carries 4 bytes of dimensions instead of 32.
/// </summary>
internal readonly record struct DimensionCombo(int Country, int Hub, int Zone, int Category, int Source, int Platform, int AppId, int Store, int SourceSystem, int Priority = 0)
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
        Dimension.Priority => Priority,
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };
}

/// <summary>
/// The dictionary of dimension combinations (ids from 0, in order of first sight). Every event
/// committed looks its combination up here: an open-addressing table holding each combination
/// beside its id, so that a lookup reads one slot, where a <c>Dictionary</c> read a bucket and
/// then an entry, two cache misses once the table outgrows the caches (the ingest benchmark's
/// ~36,000 combinations: ~3 % of the hub's CPU).
/// </summary>
internal sealed class ComboTable
{
    private Slot[] _slots = new Slot[1024];
    private readonly List<DimensionCombo> _combos = [];

    public int Count => _combos.Count;

    public DimensionCombo this[int id] => _combos[id];

    public int Intern(in DimensionCombo combo)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        var at = Home(combo, mask);
        for (; slots[at].IdPlusOne != 0; at = (at + 1) & mask)
        {
            if (slots[at].Combo == combo)
            {
                return slots[at].IdPlusOne - 1;
            }
        }
        var id = _combos.Count;
        _combos.Add(combo);
        slots[at] = new Slot(combo, id + 1);
        if (_combos.Count * 10L > slots.Length * 7L)
        {
            Grow();
        }
        return id;
    }

    /// <summary>The record's hash, spread over the table's bits (Fibonacci hashing: the mask keeps the high bits' mix).</summary>
    private static int Home(in DimensionCombo combo, int mask) =>
        (int)(((uint)combo.GetHashCode() * 2654435769u) >> 7) & mask;

    private void Grow()
    {
        var slots = new Slot[_slots.Length * 2];
        var mask = slots.Length - 1;
        foreach (var slot in _slots)
        {
            if (slot.IdPlusOne == 0)
            {
                continue;
            }
            var at = Home(slot.Combo, mask);
            while (slots[at].IdPlusOne != 0)
            {
                at = (at + 1) & mask;
            }
            slots[at] = slot;
        }
        _slots = slots;
    }

    /// <summary>A combination and its id + 1 (0 marks an empty slot).</summary>
    private readonly record struct Slot(DimensionCombo Combo, int IdPlusOne);

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
