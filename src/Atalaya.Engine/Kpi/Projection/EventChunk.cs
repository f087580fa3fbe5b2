namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// A fixed-size slice of the columnar projection: one primitive array per column (26 bytes per
/// event), the chunk's time range (a zone map) so that range scans skip whole chunks, and the
/// dimension combinations present, so that finding the groups of a range does not need a scan.
/// Chunks are never reallocated, so the projection grows without copying.
/// </summary>
internal sealed class EventChunk
{
    public const int Size = 1 << 16;

    public readonly long[] Ts = new long[Size];
    public readonly int[] Type = new int[Size];
    public readonly EventKind[] Kind = new EventKind[Size];
    public readonly EventFlags[] Flags = new EventFlags[Size];
    /// <summary>The event's <see cref="DimensionCombo"/>: the store's dimensions when the store is known, else the context's.</summary>
    public readonly int[] Combo = new int[Size];
    public readonly int[] User = new int[Size];
    /// <summary>Per kind: the entry's position in its <see cref="KindIndex"/> columns for money and order kinds, the product of a view or cart add.</summary>
    public readonly int[] Aux = new int[Size];

    /// <summary>Combinations of the chunk's catalog (non-custom) events.</summary>
    public readonly ComboSet Combos = new();

    public int Count;
    public long MinTs = long.MaxValue;
    public long MaxTs = long.MinValue;
}
