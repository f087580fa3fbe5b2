using System.Buffers;

namespace Atalaya.Engine.Storage;

/// <summary>
/// A pool per element type for arrays of millions of entries or megabytes that come and go with
/// the work (a query pass's per-user and per-product arrays, the lists of a commit the
/// recommendation model follows, the commits set aside during a snapshot): pooled so that each
/// pass or commit does not allocate them anew in the large-object heap, and dropped when the hub
/// goes idle (<see cref="ScratchMemory.Release"/>), since a pool otherwise keeps what it was
/// given back for ever (the distinct-visitor masks alone kept 17 MB of a 10M hub after every query
/// had ended). The shared pool would keep them too, up to 32 arrays of a size per core.
/// </summary>
internal static class ScratchArrays<T>
{
    private static ArrayPool<T> _pool = NewPool();

    static ScratchArrays() => ScratchMemory.Register(() => Volatile.Write(ref _pool, NewPool()));

    private static ArrayPool<T> NewPool() => ArrayPool<T>.Create(1 << 28, 16);

    public static T[] Rent(int length) => Volatile.Read(ref _pool).Rent(length);

    /// <summary>Gives an array back (to the current pool: one rented before a release simply joins the new pool).</summary>
    public static void Return(T[] array, bool clear = false)
    {
        if (array.Length > 0)
        {
            Volatile.Read(ref _pool).Return(array, clear);
        }
    }
}

/// <summary>
/// What the scratch pools and kept dictionaries of queries and ingest hold between uses
/// (<see cref="ScratchArrays{T}"/>, the KPI engine's kept dictionaries), for the idle trim to drop.
/// </summary>
public static class ScratchMemory
{
    private static readonly System.Collections.Concurrent.ConcurrentBag<Action> Releases = [];
    private static readonly System.Collections.Concurrent.ConcurrentBag<Action> Holders = [];

    internal static void Register(Action release) => Releases.Add(release);

    /// <summary>
    /// Registers what keeps rented arrays between queries (the open periods' visitor tallies): it is
    /// dropped first, so that the arrays it hands back go to the pools that are dropped after it.
    /// </summary>
    internal static void RegisterHolder(Action release) => Holders.Add(release);

    /// <summary>Drops what every pool and kept dictionary holds (the server calls it when it has been idle for a while).</summary>
    public static void Release()
    {
        foreach (var release in Holders.Concat(Releases))
        {
            release();
        }
    }
}
