using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

/// <summary>
/// Stores created earlier in the same request, so that an order that follows its store's
/// <c>store_created</c> in one batch already gets the store's dimensions.
/// </summary>
internal sealed class BatchStores
{
    private Dictionary<string, StoreDimension>? _created;

    public void Set(StoreDimension store) => (_created ??= new(StringComparer.Ordinal))[store.StoreId] = store;

    public StoreDimension? Find(string storeId, StoreDirectory directory) =>
        _created is not null && _created.TryGetValue(storeId, out var local) ? local
        : directory.TryGet(storeId, out var known) ? known
        : null;

    /// <summary>The same lookup without allocating the id (the ingest hot path).</summary>
    public StoreDimension? Find(ReadOnlySpan<char> storeId, StoreDirectory directory) =>
        _created is not null && _created.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(storeId, out var local) ? local
        : directory.TryGet(storeId, out var known) ? known
        : null;
}
