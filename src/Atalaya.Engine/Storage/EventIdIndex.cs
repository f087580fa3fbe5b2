using System.IO.Hashing;
using System.Text;

namespace Atalaya.Engine.Storage;

/// <summary>
/// The in-memory dedupe index: the 128-bit XxHash128 of every stored event_id, in an
/// open-addressing table (linear probing, 16 bytes a slot, at most 70 % full). It is loaded at
/// start from its snapshot plus the <c>event_blocks.id_hashes</c> stored after it (or from every
/// block), and touched only by the event log's writer, so it needs no lock. The chance of two
/// distinct ids colliding among 10^9 events is about 10^-21 (docs/adr/0001).
/// </summary>
internal sealed class EventIdIndex
{
    private const string Magic = "atalaya-event-ids";
    private const int FormatVersion = 1;

    // Key 0 marks an empty slot; a hash that is 0 is stored as 1 (one more collision in 2^128).
    private UInt128[] _slots;

    public EventIdIndex(int capacity = 0)
    {
        var size = 1024;
        while (size * 7L < capacity * 10L)
        {
            size *= 2;
        }
        _slots = new UInt128[size];
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
    public bool Add(UInt128 hash)
    {
        var key = hash == UInt128.Zero ? UInt128.One : hash;
        var mask = _slots.Length - 1;
        var slot = (int)((ulong)key & (ulong)mask);
        while (_slots[slot] != UInt128.Zero)
        {
            if (_slots[slot] == key)
            {
                return false;
            }
            slot = (slot + 1) & mask;
        }
        _slots[slot] = key;
        Count++;
        if (Count * 10L > _slots.Length * 7L)
        {
            Grow();
        }
        return true;
    }

    /// <summary>Removes a hash (a commit that failed): backward-shift deletion keeps every probe chain intact.</summary>
    public void Remove(UInt128 hash)
    {
        var key = hash == UInt128.Zero ? UInt128.One : hash;
        var mask = _slots.Length - 1;
        var slot = (int)((ulong)key & (ulong)mask);
        while (_slots[slot] != key)
        {
            if (_slots[slot] == UInt128.Zero)
            {
                return;
            }
            slot = (slot + 1) & mask;
        }
        var hole = slot;
        var next = (hole + 1) & mask;
        while (_slots[next] != UInt128.Zero)
        {
            var home = (int)((ulong)_slots[next] & (ulong)mask);
            // Move the entry back into the hole unless its home lies cyclically in (hole, next].
            var stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!stays)
            {
                _slots[hole] = _slots[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        _slots[hole] = UInt128.Zero;
        Count--;
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new UInt128[old.Length * 2];
        var mask = _slots.Length - 1;
        foreach (var key in old)
        {
            if (key == UInt128.Zero)
            {
                continue;
            }
            var slot = (int)((ulong)key & (ulong)mask);
            while (_slots[slot] != UInt128.Zero)
            {
                slot = (slot + 1) & mask;
            }
            _slots[slot] = key;
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
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(_slots.AsSpan());
        using (var file = PrivateFiles.Create(temporary, 1 << 20))
        {
            using (var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(FormatVersion);
                w.Write(nextSeq);
                w.Write(Count);
                w.Write(_slots.Length);
                w.Write(XxHash3.HashToUInt64(bytes));
            }
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a snapshot; null when it is missing or not intact (the caller rebuilds from the blocks).</summary>
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
            var index = new EventIdIndex { _slots = new UInt128[length], Count = count };
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(index._slots.AsSpan());
            file.ReadExactly(bytes);
            return XxHash3.HashToUInt64(bytes) == checksum ? (index, nextSeq) : null;
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            return null;
        }
    }
}
