namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// A fixed-size slice of the columnar projection: one primitive array per column, plus the
/// chunk's time range (a zone map) so that range scans skip whole chunks. Chunks are never
/// reallocated, so the projection grows without copying.
/// </summary>
public sealed class EventChunk
{
    public const int Size = 1 << 16;

    public readonly long[] Ts = new long[Size];
    public readonly int[] Type = new int[Size];
    public readonly EventKind[] Kind = new EventKind[Size];
    public readonly EventFlags[] Flags = new EventFlags[Size];
    // Effective dimensions: the store's when the store is known, else the context's.
    public readonly int[] Country = new int[Size];
    public readonly int[] Hub = new int[Size];
    public readonly int[] Zone = new int[Size];
    public readonly int[] Category = new int[Size];
    public readonly int[] Source = new int[Size];
    public readonly int[] Platform = new int[Size];
    public readonly int[] AppId = new int[Size];
    public readonly int[] Store = new int[Size];
    public readonly int[] User = new int[Size];
    /// <summary>Session row + 1 (0 = no session).</summary>
    public readonly int[] Session = new int[Size];
    /// <summary>Reporting-currency amount: purchase total, payment or charge amount, snapshot total.</summary>
    public readonly double[] Amount = new double[Size];
    /// <summary>Per kind: units of a purchase, <see cref="FinalStatus"/> of a status change, product of a view.</summary>
    public readonly int[] Aux = new int[Size];

    public int Count;
    public long MinTs = long.MaxValue;
    public long MaxTs = long.MinValue;

    public int Dim(Dimension d, int i) => d switch
    {
        Dimension.Country => Country[i],
        Dimension.Hub => Hub[i],
        Dimension.Zone => Zone[i],
        Dimension.Source => Source[i],
        Dimension.Platform => Platform[i],
        Dimension.Category => Category[i],
        Dimension.AppId => AppId[i],
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };
}
