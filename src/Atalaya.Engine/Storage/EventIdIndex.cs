using System.IO.Hashing;
using System.Text;

namespace Atalaya.Engine.Storage;

/// <summary>
/// The in-memory dedupe index: 96 bits of the XxHash128 of every stored event_id, in an
/// open-addressing table (linear probing, at most 70 % full) of 12 bytes a slot: the hash's low 64
/// bits (which also pick the slot) in one array, the next 32 in another. It is loaded at start from
/// its snapshot plus the <c>event_blocks.id_hashes</c> stored after it (or from every block), and
/// touched only by the event log's writer, so it needs no lock. The chance of two distinct ids
/// colliding on 96 bits among 10^9 events is about 10^-11 (docs/adr/0001); the full 128 bits would
/// cost a third more memory (at 10M events, 268 MB instead of 201 MB) for a chance nobody would see.
/// </summary>
internal sealed class EventIdIndex
{
    private const string Magic = "atalaya-event-ids";

    // 2: 96-bit keys in two arrays (1 held 128-bit keys); an older snapshot is rebuilt from the blocks.
    private const int FormatVersion = 2;

    // A low half of 0 marks an empty slot; a key whose low half is 0 is stored with 1 (one more collision in 2^64).
    private ulong[] _low;
    private uint[] _high;

    public EventIdIndex(int capacity = 0)
    {
        var size = 1024;
        while (size * 7L < capacity * 10L)
        {
            size *= 2;
        }
        _low = new ulong[size];
        _high = new uint[size];
    }

    public int Count { get; private set; }

    public static UInt128 Hash(string eventId)
    {
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(128)];
        var length = eventId.Length <= 128
            ? Encoding.UTF8.GetBytes(eventId, utf8)
            : -1;
        return length >= 0
            ? XxHash128.HashToUInt128(utf8[..length])
            : XxHash128.HashToUInt128(Encoding.UTF8.GetBytes(eventId));
    }

    /// <summary>The hash of an event_id given as the raw (escaped) UTF-8 text of its JSON string.</summary>
    public static UInt128 HashJsonString(System.Text.Json.JsonElement value)
    {
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value)[1..^1];
        // Without escapes the raw bytes are the id's UTF-8: hash them without decoding.
        return raw.IndexOf((byte)'\\') < 0 ? XxHash128.HashToUInt128(raw) : Hash(value.GetString()!);
    }

    /// <summary>Adds the hash; false when it was already there (a duplicate).</summary>
    private static (ulong Low, uint High) Key(UInt128 hash)
    {
        var low = (ulong)hash;
        return (low == 0 ? 1 : low, (uint)(hash >> 64));
    }

    public bool Add(UInt128 hash)
    {
        var (low, high) = Key(hash);
        var mask = _low.Length - 1;
        var slot = (int)(low & (ulong)mask);
        while (_low[slot] != 0)
        {
            if (_low[slot] == low && _high[slot] == high)
            {
                return false;
            }
            slot = (slot + 1) & mask;
        }
        _low[slot] = low;
        _high[slot] = high;
        Count++;
        if (Count * 10L > _low.Length * 7L)
        {
            Grow();
        }
        return true;
    }

    public void Remove(UInt128 hash)
    {
        var (low, high) = Key(hash);
        var mask = _low.Length - 1;
        var slot = (int)(low & (ulong)mask);
        while (_low[slot] != low || _high[slot] != high)
        {
            if (_low[slot] == 0)
            {
                return;
            }
            slot = (slot + 1) & mask;
        }
        var hole = slot;
        var next = (hole + 1) & mask;
        while (_low[next] != 0)
        {
            var home = (int)(_low[next] & (ulong)mask);
            // Move the entry back into the hole unless its home lies cyclically in (hole, next].
            var stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!stays)
            {
                _low[hole] = _low[next];
                _high[hole] = _high[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        _low[hole] = 0;
        _high[hole] = 0;
        Count--;
    }

    private void Grow()
    {
        var (oldLow, oldHigh) = (_low, _high);
        _low = new ulong[oldLow.Length * 2];
        _high = new uint[oldLow.Length * 2];
        var mask = _low.Length - 1;
        for (var i = 0; i < oldLow.Length; i++)
        {
            if (oldLow[i] == 0)
            {
                continue;
            }
            var slot = (int)(oldLow[i] & (ulong)mask);
            while (_low[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }
            _low[slot] = oldLow[i];
            _high[slot] = oldHigh[i];
        }
    }

    public void AddPacked(ReadOnlySpan<byte> packed)
    {
        for (var offset = 0; offset + 16 <= packed.Length; offset += 16)
        {
            Add(ReadHash(packed.Slice(offset, 16)));
        }
    }

    public static void WriteHash(UInt128 hash, Span<byte> destination)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(destination, (ulong)(hash >> 64));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], (ulong)hash);
    }

    public static UInt128 ReadHash(ReadOnlySpan<byte> source) => new(
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(source),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(source[8..]));

    /// <summary>
    /// Writes the table with the next sequence number it reflects and a checksum, atomically (a
    /// temporary file, flushed, renamed). A snapshot saves re-reading every block's ids at start.
    /// </summary>
    public void Save(string path, long nextSeq)
    {
        var temporary = path + ".tmp";
        var low = System.Runtime.InteropServices.MemoryMarshal.AsBytes(_low.AsSpan());
        var high = System.Runtime.InteropServices.MemoryMarshal.AsBytes(_high.AsSpan());
        using (var file = PrivateFiles.Create(temporary, 1 << 20))
        {
            using (var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(FormatVersion);
                w.Write(nextSeq);
                w.Write(Count);
                w.Write(_low.Length);
                w.Write(Checksum(low, high));
            }
            file.Write(low);
            file.Write(high);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static ulong Checksum(ReadOnlySpan<byte> low, ReadOnlySpan<byte> high)
    {
        var hash = new XxHash3();
        hash.Append(low);
        hash.Append(high);
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>Reads a snapshot; null when it is missing, of another format or not intact (the caller rebuilds from the blocks).</summary>
    public static (EventIdIndex Index, long NextSeq)? TryLoad(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            using var r = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
            if (r.ReadString() != Magic || r.ReadInt32() != FormatVersion)
            {
                return null;
            }
            var nextSeq = r.ReadInt64();
            var count = r.ReadInt32();
            var length = r.ReadInt32();
            var checksum = r.ReadUInt64();
            if (length < 1024 || !System.Numerics.BitOperations.IsPow2(length) || count < 0 || count * 10L > length * 7L)
            {
                return null;
            }
            var index = new EventIdIndex { _low = new ulong[length], _high = new uint[length], Count = count };
            var low = System.Runtime.InteropServices.MemoryMarshal.AsBytes(index._low.AsSpan());
            var high = System.Runtime.InteropServices.MemoryMarshal.AsBytes(index._high.AsSpan());
            file.ReadExactly(low);
            file.ReadExactly(high);
            return Checksum(low, high) == checksum ? (index, nextSeq) : null;
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            return null;
        }
    }
}
