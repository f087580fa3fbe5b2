namespace Atalaya.Engine.Kpi.Projection;

/// <summary>An array indexed by a pool id that grows on demand (ids are dense).</summary>
internal struct GrowableArray<T>(T fill)
{
    private T[] _items = [];

    public readonly int Length => _items.Length;

    /// <summary>The backing array (for snapshots); its length may exceed the ids in use.</summary>
    internal T[] Raw
    {
        readonly get => _items;
        set => _items = value;
    }

    public readonly T Get(int id) => id < _items.Length ? _items[id] : fill;

    public ref T At(int id)
    {
        if (id >= _items.Length)
        {
            var old = _items.Length;
            // Doubling while small; a quarter more once large, so that a big table (sessions at
            // 10M events: 200 MB) carries at most a quarter of spare capacity, not as much again.
            var grown = old < (1 << 20) ? Math.Max(16, old * 2) : old + (old / 4);
            Array.Resize(ref _items, Math.Max(id + 1, grown));
            _items.AsSpan(old).Fill(fill);
        }
        return ref _items[id];
    }
}
