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
/// An array comes back as its last user left it: one that must start as zeros comes from
/// <see cref="ZeroedArrays{T}"/>.
/// </summary>
internal static class ScratchArrays<T>
{
    private static readonly ScratchPool<T> Pool = new();

    public static T[] Rent(int length) => Pool.Rent(length);

    /// <summary>Gives an array back (to the current pool: one rented before a release simply joins the new pool).</summary>
    public static void Return(T[] array, bool clear = false) => Pool.Return(array, clear);
}

/// <summary>
/// The same kind of pool for arrays that must be all zeros when rented (the distinct-user masks,
/// which reset only the entries they set): every user gives its array back cleared. A pool of its
/// own, not a promise kept by every user of <see cref="ScratchArrays{T}"/>: the commits set aside
/// during a snapshot and the recommendation model's follower give byte arrays back as they wrote
/// them, and a mask array taken from among those counted users that were never there.
/// </summary>
internal static class ZeroedArrays<T>
{
    private static readonly ScratchPool<T> Pool = new();

    public static T[] Rent(int length) => Pool.Rent(length);

    /// <summary>Gives back an array the caller has set to all zeros again.</summary>
    public static void Return(T[] array) => Pool.Return(array, clear: false);
}

/// <summary>One pool of <see cref="ScratchArrays{T}"/> or <see cref="ZeroedArrays{T}"/>, replaced by an empty one when the hub goes idle.</summary>
internal sealed class ScratchPool<T>
{
    private ArrayPool<T> _pool = NewPool();

    public ScratchPool() => ScratchMemory.Register(() => Volatile.Write(ref _pool, NewPool()));

    private static ArrayPool<T> NewPool() => ArrayPool<T>.Create(1 << 28, 16);

    public T[] Rent(int length) => Volatile.Read(ref _pool).Rent(length);

    public void Return(T[] array, bool clear)
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
