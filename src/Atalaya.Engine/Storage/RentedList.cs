namespace Atalaya.Engine.Storage;

/// <summary>
/// A list over arrays rented from <see cref="ScratchArrays{T}"/>, handed back by <see cref="Dispose"/>: for the
/// per-commit lists that hold a request's worth of events (thousands of large structs), which as
/// plain lists allocated a large-object-heap array at every doubling and spent the gen2 budget
/// while ingest ran (docs/benchmarks.md, "Reads under write load").
/// </summary>
internal sealed class RentedList<T> : IDisposable
{
    private T[] _items = ScratchArrays<T>.Rent(64);

    public int Count { get; private set; }

    public ref T this[int index] => ref _items[index];

    public ReadOnlySpan<T> AsSpan() => _items.AsSpan(0, Count);

    public void Add(in T item)
    {
        if (Count == _items.Length)
        {
            Grow(Count + 1);
        }
        _items[Count++] = item;
    }

    public void AddRange(ReadOnlySpan<T> items)
    {
        if (Count + items.Length > _items.Length)
        {
            Grow(Count + items.Length);
        }
        items.CopyTo(_items.AsSpan(Count));
        Count += items.Length;
    }

    private void Grow(int needed)
    {
        var larger = ScratchArrays<T>.Rent(Math.Max(needed, _items.Length * 2));
        _items.AsSpan(0, Count).CopyTo(larger);
        ScratchArrays<T>.Return(_items, System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        _items = larger;
    }

    public void Dispose()
    {
        ScratchArrays<T>.Return(_items, System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        _items = [];
        Count = 0;
    }
}
