using System.IO.Hashing;
using System.Text;

namespace Atalaya.Engine.Storage;

/// <summary>
/// The in-memory dedupe index: 92 bits of the XxHash128 of every stored event_id, in 4,096
/// open-addressing tables (linear probing) picked by 12 of the bits. Each slot holds the hash's low 64
/// bits in one array and 16 more in another: 10 bytes a slot. A table grows by a quarter when it is
/// 80 % full, so the whole index stays 64–80 % full whatever the count: a single power-of-two table
/// kept at most 70 % full (the previous layout, 12 bytes a slot) was 35–70 % full, 201 MB at 10M
/// events and 402 MB from 11.7M on; this one is 123–153 MB at 9.8M. Growing one small table at a time
/// also never stops the writer for a rehash of everything. It is loaded at start from its snapshot
/// plus the <c>event_blocks.id_hashes</c> stored after it (or from every block), and touched only by
/// the event log's writer, so it needs no lock. The chance of two distinct ids colliding on 92 bits
/// among 10^9 events is about 10^-10 (docs/adr/0001).
/// </summary>
internal sealed class EventIdIndex
{
    private const string Magic = "atalaya-event-ids";

    // 3: 4,096 tables of 92-bit keys; 2 (one table of 96-bit keys) is read and re-added; 1 (128-bit keys) is rebuilt from the blocks.
    private const int FormatVersion = 3;
    private const int ShardBits = 12;
    private const int Shards = 1 << ShardBits;
    private const int MinimumSlots = 8;

    // A low half of 0 marks an empty slot; a key whose low half is 0 is stored with 1 (one more collision in 2^64).
    private readonly ulong[]?[] _low = new ulong[]?[Shards];
    private readonly ushort[]?[] _high = new ushort[]?[Shards];
    private readonly int[] _counts = new int[Shards];

    public EventIdIndex(int capacity = 0)
    {
        // Sized for the expected count at 75 % so that loading a known number of ids does not grow each table step by step.
        var perShard = (int)Math.Min(int.MaxValue / 2, (capacity * 4L / 3 / Shards) + 1);
        if (capacity > 0)
        {
            for (var shard = 0; shard < Shards; shard++)
            {
                _low[shard] = new ulong[Math.Max(MinimumSlots, perShard)];
                _high[shard] = new ushort[Math.Max(MinimumSlots, perShard)];
            }
        }
    }

    public int Count { get; private set; }

    /// <summary>Bytes held by the tables' slots (for the memory report and its tests).</summary>
    public long SlotBytes
    {
        get
        {
            long slots = 0;
            foreach (var low in _low)
            {
                slots += low?.Length ?? 0;
            }
            return slots * (sizeof(ulong) + sizeof(ushort));
        }
    }

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

    /// <summary>The table (12 bits of the hash's high half), the low 64 bits and the next 16 bits kept in the slot.</summary>
    private static (int Shard, ulong Low, ushort High) Key(UInt128 hash)
    {
        var low = (ulong)hash;
        var high = (uint)(hash >> 64);
        return ((int)(high >> (32 - ShardBits)), low == 0 ? 1 : low, (ushort)high);
    }

    /// <summary>Where a key's probe starts in a table of <paramref name="slots"/>: the low half's top 32 bits scaled to the size.</summary>
    private static int Home(ulong low, int slots) => (int)(((low >> 32) * (ulong)slots) >> 32);

    /// <summary>Adds the hash; false when it was already there (a duplicate).</summary>
    public bool Add(UInt128 hash)
    {
        var (shard, low, high) = Key(hash);
        var lows = _low[shard];
        if (lows is null || (_counts[shard] + 1) * 5L > lows.Length * 4L)
        {
            if (lows is not null && Contains(lows, _high[shard]!, low, high))
            {
                return false;
            }
            Grow(shard);
            lows = _low[shard]!;
        }
        var highs = _high[shard]!;
        var slot = Home(low, lows.Length);
        while (lows[slot] != 0)
        {
            if (lows[slot] == low && highs[slot] == high)
            {
                return false;
            }
            slot = slot + 1 == lows.Length ? 0 : slot + 1;
        }
        lows[slot] = low;
        highs[slot] = high;
        _counts[shard]++;
        Count++;
        return true;
    }

    private static bool Contains(ulong[] lows, ushort[] highs, ulong low, ushort high)
    {
        var slot = Home(low, lows.Length);
        while (lows[slot] != 0)
        {
            if (lows[slot] == low && highs[slot] == high)
            {
                return true;
            }
            slot = slot + 1 == lows.Length ? 0 : slot + 1;
        }
        return false;
    }

    public void Remove(UInt128 hash)
    {
        var (shard, low, high) = Key(hash);
        if (_low[shard] is not { } lows)
        {
            return;
        }
        var highs = _high[shard]!;
        var size = lows.Length;
        var slot = Home(low, size);
        while (lows[slot] != low || highs[slot] != high)
        {
            if (lows[slot] == 0)
            {
                return;
            }
            slot = slot + 1 == size ? 0 : slot + 1;
        }
        var hole = slot;
        var next = hole + 1 == size ? 0 : hole + 1;
        while (lows[next] != 0)
        {
            var home = Home(lows[next], size);
            // Move the entry back into the hole unless its home lies cyclically in (hole, next].
            var stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!stays)
            {
                lows[hole] = lows[next];
                highs[hole] = highs[next];
                hole = next;
            }
            next = next + 1 == size ? 0 : next + 1;
        }
        lows[hole] = 0;
        highs[hole] = 0;
        _counts[shard]--;
        Count--;
    }

    private void Grow(int shard)
    {
        var oldLow = _low[shard];
        var oldHigh = _high[shard];
        var size = oldLow is null ? MinimumSlots : oldLow.Length + Math.Max(1, oldLow.Length / 4);
        var lows = new ulong[size];
        var highs = new ushort[size];
        for (var i = 0; i < (oldLow?.Length ?? 0); i++)
        {
            if (oldLow![i] == 0)
            {
                continue;
            }
            var slot = Home(oldLow[i], size);
            while (lows[slot] != 0)
            {
                slot = slot + 1 == size ? 0 : slot + 1;
            }
            lows[slot] = oldLow[i];
            highs[slot] = oldHigh![i];
        }
        _low[shard] = lows;
        _high[shard] = highs;
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
    /// Writes the tables with the next sequence number they reflect and a checksum, atomically (a
    /// temporary file, flushed, renamed). A snapshot saves re-reading every block's ids at start.
    /// </summary>
    public void Save(string path, long nextSeq)
    {
        var temporary = path + ".tmp";
        var sizes = new int[Shards];
        for (var shard = 0; shard < Shards; shard++)
        {
            sizes[shard] = _low[shard]?.Length ?? 0;
        }
        using (var file = PrivateFiles.Create(temporary, 1 << 20))
        {
            using (var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(FormatVersion);
                w.Write(nextSeq);
                w.Write(Count);
                w.Write(Shards);
                w.Write(Checksum(sizes, _low, _high));
            }
            SlicedWrites.Write(file, System.Runtime.InteropServices.MemoryMarshal.AsBytes(sizes.AsSpan()));
            for (var shard = 0; shard < Shards; shard++)
            {
                SlicedWrites.Write(file, System.Runtime.InteropServices.MemoryMarshal.AsBytes(_low[shard].AsSpan()));
                SlicedWrites.Write(file, System.Runtime.InteropServices.MemoryMarshal.AsBytes(_high[shard].AsSpan()));
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static ulong Checksum(int[] sizes, ulong[]?[] lows, ushort[]?[] highs)
    {
        var hash = new XxHash3();
        hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sizes.AsSpan()));
        for (var shard = 0; shard < sizes.Length; shard++)
        {
            hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(lows[shard].AsSpan()));
            hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(highs[shard].AsSpan()));
        }
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>
    /// Reads a snapshot; null when it is missing, of an unknown format or not intact (the caller
    /// rebuilds from the blocks). A snapshot of the previous single-table format is read and its keys added.
    /// </summary>
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
            if (r.ReadString() != Magic)
            {
                return null;
            }
            return r.ReadInt32() switch
            {
                FormatVersion => ReadSharded(file, r),
                2 => ReadSingleTable(file, r),
                _ => null,
            };
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            return null;
        }
    }

    private static (EventIdIndex Index, long NextSeq)? ReadSharded(FileStream file, BinaryReader r)
    {
        var nextSeq = r.ReadInt64();
        var count = r.ReadInt32();
        var shards = r.ReadInt32();
        var checksum = r.ReadUInt64();
        if (shards != Shards || count < 0)
        {
            return null;
        }
        var sizes = new int[Shards];
        file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sizes.AsSpan()));
        var index = new EventIdIndex();
        long slots = 0;
        for (var shard = 0; shard < Shards; shard++)
        {
            slots += sizes[shard];
            if (sizes[shard] < 0 || slots * 10 > file.Length)
            {
                return null;
            }
            if (sizes[shard] == 0)
            {
                continue;
            }
            var lows = new ulong[sizes[shard]];
            var highs = new ushort[sizes[shard]];
            file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(lows.AsSpan()));
            file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(highs.AsSpan()));
            var used = 0;
            foreach (var low in lows)
            {
                used += low != 0 ? 1 : 0;
            }
            (index._low[shard], index._high[shard], index._counts[shard]) = (lows, highs, used);
            index.Count += used;
        }
        return index.Count == count && Checksum(sizes, index._low, index._high) == checksum ? (index, nextSeq) : null;
    }

    /// <summary>The format before 2026-12-06: one power-of-two table of 96-bit keys (low 64 bits, next 32).</summary>
    private static (EventIdIndex Index, long NextSeq)? ReadSingleTable(FileStream file, BinaryReader r)
    {
        var nextSeq = r.ReadInt64();
        var count = r.ReadInt32();
        var length = r.ReadInt32();
        var checksum = r.ReadUInt64();
        if (length < 1024 || !System.Numerics.BitOperations.IsPow2(length) || count < 0 || count * 10L > length * 7L
            || length * 12L > file.Length)
        {
            return null;
        }
        var lows = new ulong[length];
        var highs = new uint[length];
        var lowBytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(lows.AsSpan());
        var highBytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(highs.AsSpan());
        file.ReadExactly(lowBytes);
        file.ReadExactly(highBytes);
        var hash = new XxHash3();
        hash.Append(lowBytes);
        hash.Append(highBytes);
        if (hash.GetCurrentHashAsUInt64() != checksum)
        {
            return null;
        }
        var index = new EventIdIndex(count);
        for (var i = 0; i < length; i++)
        {
            if (lows[i] != 0)
            {
                index.Add(new UInt128(highs[i], lows[i]));
            }
        }
        return index.Count == count ? (index, nextSeq) : null;
    }
}
