using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Storage;

/// <summary>
/// The store dimension (store → name, country, hub, zone, category), from <c>store_created</c>
/// events. Read concurrently by the ingest pipeline to fill missing dimensions; written by the
/// event log after the store's event is durable.
/// </summary>
public sealed class StoreDirectory
{
    private readonly ConcurrentDictionary<string, StoreDimension> _stores;
    private readonly ConcurrentDictionary<string, StoreDimension>.AlternateLookup<ReadOnlySpan<char>> _byChars;

    public StoreDirectory()
    {
        _stores = new(StringComparer.Ordinal);
        _byChars = _stores.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _stores.Count;

    public bool TryGet(string storeId, out StoreDimension store) => _stores.TryGetValue(storeId, out store!);

    /// <summary>Looks a store up without allocating its id (the ingest hot path).</summary>
    public bool TryGet(ReadOnlySpan<char> storeId, out StoreDimension store) => _byChars.TryGetValue(storeId, out store!);

    public void Set(StoreDimension store) => _stores[store.StoreId] = store;

    internal void Load(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT store_id, store_name, country, hub, zone, category, created_at FROM stores;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            Set(new StoreDimension(reader.GetString(0), Text(reader, 1), Text(reader, 2), Text(reader, 3),
                Text(reader, 4), Text(reader, 5), reader.GetInt64(6)));
        }
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
