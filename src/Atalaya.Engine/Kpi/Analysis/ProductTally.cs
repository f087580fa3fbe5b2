using System.Runtime.InteropServices;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Kpi.Analysis;

/// <summary>
/// Figures per (product, store) for one top-products call, indexed by product id: a product id
/// names one store's product almost always, so each product's slot holds the first store seen
/// with it and any other store's figures for the same id go to a small dictionary. No hashing per
/// item or view, no string work. The slot array is pooled and handed back cleared (only the slots
/// touched are reset), so a call on a catalog of tens of thousands of products neither allocates
/// nor clears a table that size.
/// </summary>
internal sealed class ProductTally : IDisposable
{

    private readonly Sums[] _byProduct;
    private readonly List<int> _touched = [];
    private Dictionary<(int Product, int Store), Sums>? _otherStores;

    /// <param name="cardinality">Product ids are 0..cardinality-1.</param>
    public ProductTally(int cardinality) => _byProduct = ZeroedArrays<Sums>.Rent(cardinality);

    /// <summary>The running figures of one (product, store).</summary>
    public struct Sums
    {
        public double Revenue;
        public long Units, Orders, Views, AddToCarts;
        /// <summary>The purchase whose items were last added (so an order with the product twice counts once).</summary>
        public int LastOrder;
        public int Store;
        public bool Used;
    }

    /// <summary>The figures of (<paramref name="product"/>, <paramref name="store"/>), created empty on first use. Use the reference at once.</summary>
    public ref Sums At(int product, int store)
    {
        ref var slot = ref _byProduct[product];
        if (!slot.Used)
        {
            slot.Used = true;
            slot.Store = store;
            slot.LastOrder = -1;
            _touched.Add(product);
            return ref slot;
        }
        if (slot.Store == store)
        {
            return ref slot;
        }
        _otherStores ??= [];
        ref var other = ref CollectionsMarshal.GetValueRefOrAddDefault(_otherStores, (product, store), out var exists);
        if (!exists)
        {
            other.Used = true;
            other.Store = store;
            other.LastOrder = -1;
        }
        return ref other;
    }

    /// <summary>Every (product, store) with figures.</summary>
    public IEnumerable<(int Product, int Store, Sums Sums)> Entries()
    {
        foreach (var product in _touched)
        {
            yield return (product, _byProduct[product].Store, _byProduct[product]);
        }
        foreach (var ((product, store), sums) in _otherStores ?? [])
        {
            yield return (product, store, sums);
        }
    }

    public void Dispose()
    {
        foreach (var product in _touched)
        {
            _byProduct[product] = default;
        }
        _touched.Clear();
        ZeroedArrays<Sums>.Return(_byProduct);
    }
}
