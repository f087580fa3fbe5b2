namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// For each <see cref="EventKind"/>, the projection indexes of its catalog events in storage order,
/// so that a KPI over orders or payments touches those events only (a few percent of all events)
/// instead of scanning every event of the range.
/// </summary>
public sealed class KindIndex
{
    private readonly int[][] _entries = new int[Enum.GetValues<EventKind>().Length][];
    private readonly int[] _counts = new int[Enum.GetValues<EventKind>().Length];

    public KindIndex()
    {
        for (var k = 0; k < _entries.Length; k++)
        {
            _entries[k] = new int[256];
        }
    }

    public ReadOnlySpan<int> Of(EventKind kind) => _entries[(int)kind].AsSpan(0, _counts[(int)kind]);

    public void Add(EventKind kind, int index)
    {
        ref var entries = ref _entries[(int)kind];
        ref var count = ref _counts[(int)kind];
        if (count == entries.Length)
        {
            Array.Resize(ref entries, count * 2);
        }
        entries[count++] = index;
    }
}
