using System.Buffers;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// The per-combination arrays of one query (its scope's matches and groups, each pass's cells),
/// rented from the shared array pool and handed back when the query ends. With tens of thousands
/// of dimension combinations they are large-object-heap sized, and allocating them on every call
/// spent the gen2 budget within seconds while ingest ran: under `bench mixed` the hub collected
/// gen2 about every two seconds, and a read that met one of those pauses waited for it
/// (docs/benchmarks.md, "Reads under write load"). A rented array may be longer than asked for:
/// callers index it below the length they asked for, never by its <c>Length</c>.
/// </summary>
internal sealed class QueryScratch : IDisposable
{
    private readonly List<int[]> _ints = [];
    private readonly List<bool[]> _bools = [];

    public int[] Ints(int length, int fill)
    {
        var array = ArrayPool<int>.Shared.Rent(Math.Max(1, length));
        array.AsSpan(0, length).Fill(fill);
        _ints.Add(array);
        return array;
    }

    public bool[] Bools(int length, bool fill)
    {
        var array = ArrayPool<bool>.Shared.Rent(Math.Max(1, length));
        array.AsSpan(0, length).Fill(fill);
        _bools.Add(array);
        return array;
    }

    public void Dispose()
    {
        foreach (var array in _ints)
        {
            ArrayPool<int>.Shared.Return(array);
        }
        foreach (var array in _bools)
        {
            ArrayPool<bool>.Shared.Return(array);
        }
        _ints.Clear();
        _bools.Clear();
    }
}

/// <summary>
/// One kept dictionary per key and value type for a query pass's sparse tallies (churn's active
/// members, the visitors' users seen in a second group): cleared and kept for the next pass rather
/// than grown from empty on every call, which under write load allocated hundreds of MB a minute
/// in the large-object heap. Only a dictionary of at most <see cref="MaxKept"/> entries is kept
/// (about 60 MB), and <see cref="Storage.ScratchMemory.Release"/> drops them when the hub goes idle,
/// so they cost memory only while queries keep coming; two passes at once simply get two.
/// </summary>
internal static class ScratchDictionary<TKey, TValue>
    where TKey : notnull
{
    private const int MaxKept = 1 << 21;

    private static Dictionary<TKey, TValue>? _kept;

    static ScratchDictionary() => Storage.ScratchMemory.Register(() => _kept = null);

    public static Dictionary<TKey, TValue> Rent() => Interlocked.Exchange(ref _kept, null) ?? [];

    public static void Return(Dictionary<TKey, TValue> dictionary)
    {
        if (dictionary.Count > MaxKept)
        {
            return;
        }
        dictionary.Clear();
        _kept = dictionary;
    }
}
