using System.IO.Hashing;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// The ids of a few-valued <see cref="StringPool"/> (event types, dimension values) by their UTF-8
/// bytes as stored: a small direct-mapped cache in front of the pool, so that applying an event's
/// collected facts skips decoding to UTF-16 and the pool's string hashing for values seen before.
/// It only remembers ids the pool gave, and pool ids never change, so a hit is what the pool would
/// answer. Pools of many values (products, stores) would only churn it and go to the pool directly.
/// </summary>
internal sealed class Utf8IdCache
{
    private const int Size = 256;
    private const int MaxLength = 64;

    private readonly byte[]?[] _keys = new byte[Size][];
    private readonly int[] _ids = new int[Size];

    /// <summary>The cached id of <paramref name="utf8"/>, else 0 with the slot to fill (-1: not cacheable).</summary>
    public int Find(ReadOnlySpan<byte> utf8, out int slot)
    {
        if (utf8.Length > MaxLength)
        {
            slot = -1;
            return 0;
        }
        slot = (int)(XxHash3.HashToUInt64(utf8) & (Size - 1));
        return _keys[slot] is { } key && utf8.SequenceEqual(key) ? _ids[slot] : 0;
    }

    public void Set(int slot, ReadOnlySpan<byte> utf8, int id)
    {
        if (slot >= 0 && id != 0)
        {
            _keys[slot] = utf8.ToArray();
            _ids[slot] = id;
        }
    }
}
