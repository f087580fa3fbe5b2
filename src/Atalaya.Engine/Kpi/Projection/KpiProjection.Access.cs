namespace Atalaya.Engine.Kpi.Projection;

/// <summary>Read access for the query code (callers hold <see cref="KpiProjection.Read"/>).</summary>
public sealed partial class KpiProjection
{
    internal IReadOnlyList<EventChunk> Chunks => _chunks;

    internal int SessionCount => Pools.Sessions.Count;

    internal SessionRow Session(int id) => _sessions.Get(id);

    internal ItemTable Items => _items;

    internal double Commission(int index) => _commissions.GetValueOrDefault(index);

    internal string? ProductNameOf(int product) => _productNames.Get(product).Name;

    /// <summary>The id of a dimension value in its pool (0 when never seen).</summary>
    internal int FindValue(Dimension d, string value) =>
        d == Dimension.StoreId ? Pools.Stores.Find(value) : Pools.Dimension.Find(value);

    internal string? ValueName(Dimension d, int id) =>
        d == Dimension.StoreId ? Pools.Stores[id] : Pools.Dimension[id];

    internal int ValueCardinality(Dimension d) =>
        (d == Dimension.StoreId ? Pools.Stores.Count : Pools.Dimension.Count) + 1;

    internal static int DimValue(EventChunk chunk, int i, Dimension d) =>
        d == Dimension.StoreId ? chunk.Store[i] : chunk.Dim(d, i);
}
