namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// A fixed-size slice of the columnar projection: one primitive array per column (24 bytes per
/// event), the chunk's time range (a zone map) so that range scans skip whole chunks, and the
/// dimension combinations present, so that finding the groups of a range does not need a scan.
/// Chunks are never reallocated, so the projection grows without copying.
/// </summary>
internal sealed class EventChunk
{
    public const int Size = 1 << 16;

    public readonly long[] Ts = new long[Size];
    /// <summary>
    /// The event type's pool id in two bytes (a hub has tens of types, not tens of thousands): an
    /// id from <see cref="WideType"/> on is kept in <see cref="WideTypes"/>; read it with <see cref="TypeAt"/>.
    /// </summary>
    public readonly ushort[] Type = new ushort[Size];
    public readonly EventKind[] Kind = new EventKind[Size];
    public readonly EventFlags[] Flags = new EventFlags[Size];
    /// <summary>The event's <see cref="DimensionCombo"/>: the store's dimensions when the store is known, else the context's.</summary>
    public readonly int[] Combo = new int[Size];
    public readonly int[] User = new int[Size];
    /// <summary>Per kind: the entry's position in its <see cref="KindIndex"/> columns for money and order kinds, the product of a view or cart add.</summary>
    public readonly int[] Aux = new int[Size];

    /// <summary>The type ids that do not fit in <see cref="Type"/>, by position in the chunk (null until one comes).</summary>
    public Dictionary<int, int>? WideTypes;

    /// <summary>Combinations of the chunk's catalog (non-custom) events.</summary>
    public readonly ComboSet Combos = new();

    /// <summary>Marks a <see cref="Type"/> entry whose id is in <see cref="WideTypes"/>.</summary>
    public const ushort WideType = ushort.MaxValue;

    public int Count;
    public long MinTs = long.MaxValue;
    public long MaxTs = long.MinValue;

    /// <summary>The type id of the event at <paramref name="i"/>.</summary>
    public int TypeAt(int i) => Type[i] is var type && type != WideType ? type : WideTypes![i];

    public void SetType(int i, int type)
    {
        if (type < WideType)
        {
            Type[i] = (ushort)type;
        }
        else
        {
            Type[i] = WideType;
            (WideTypes ??= [])[i] = type;
        }
    }
}
