using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Dense ids (from 1) for identifiers that are counted but never shown — users, sessions, orders —
/// keyed by a 64-bit XxHash3 of the text instead of the text itself: an open-addressing table
/// whose slots hold key and id side by side (a lookup touches one cache line: the tables of a
/// busy marketplace are far larger than the caches), written to and read from a snapshot as one
/// raw array of slots. Two distinct ids share
/// a key with probability about n²/2⁶⁵ (about 3·10⁻⁶ for ten million ids), which would merge two
/// users or sessions in distinct counts; amounts are never keyed this way.
/// </summary>
internal sealed class HashedIdPool
{
    private Slot[] _slots = new Slot[1024];

    /// <summary>Ids in use are 1..Count.</summary>
    public int Count { get; private set; }

    public int Intern(ReadOnlySpan<char> value)
    {
        var key = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(value));
        if (key == 0)
        {
            key = 1; // 0 marks an empty slot
        }
        var slots = _slots;
        var mask = slots.Length - 1;
        var at = (int)(key & (ulong)mask);
        while (slots[at].Key != 0)
        {
            if (slots[at].Key == key)
            {
                return slots[at].Id;
            }
            at = (at + 1) & mask;
        }
        slots[at] = new Slot(key, ++Count);
        if (Count * 10 > slots.Length * 7)
        {
            _slots = Rehash(slots, slots.Length * 2);
        }
        return Count;
    }

    /// <summary>The id of <paramref name="value"/>, 0 when it was never interned.</summary>
    public int Find(ReadOnlySpan<char> value)
    {
        var at = SlotOf(KeyOf(value));
        return at < 0 ? 0 : _slots[at].Id;
    }

    /// <summary>
    /// Gives <paramref name="from"/>'s id to <paramref name="to"/> (an erasure replacing a person's
    /// id by a pseudonym): every column keeps the same dense id, so every figure stays the same, and
    /// the table no longer holds the old id's key. False when <paramref name="from"/> is unknown or
    /// <paramref name="to"/> already has an id of its own (nothing changes then).
    /// </summary>
    public bool Rekey(ReadOnlySpan<char> from, ReadOnlySpan<char> to)
    {
        var at = SlotOf(KeyOf(from));
        var toKey = KeyOf(to);
        if (at < 0 || SlotOf(toKey) >= 0)
        {
            return false;
        }
        var id = _slots[at].Id;
        RemoveAt(at);
        var slots = _slots;
        var mask = slots.Length - 1;
        var free = (int)(toKey & (ulong)mask);
        while (slots[free].Key != 0)
        {
            free = (free + 1) & mask;
        }
        slots[free] = new Slot(toKey, id);
        return true;
    }

    private static ulong KeyOf(ReadOnlySpan<char> value)
    {
        var key = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(value));
        return key == 0 ? 1 : key;
    }

    private int SlotOf(ulong key)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        var at = (int)(key & (ulong)mask);
        while (slots[at].Key != 0)
        {
            if (slots[at].Key == key)
            {
                return at;
            }
            at = (at + 1) & mask;
        }
        return -1;
    }

    /// <summary>Linear probing's deletion: later slots of the probe run move back so no lookup stops at the hole.</summary>
    private void RemoveAt(int hole)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        var next = hole;
        while (true)
        {
            next = (next + 1) & mask;
            if (slots[next].Key == 0)
            {
                break;
            }
            var home = (int)(slots[next].Key & (ulong)mask);
            // The entry may fill the hole when its home is not in the cyclic range (hole, next].
            var homeInRange = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!homeInRange)
            {
                slots[hole] = slots[next];
                hole = next;
            }
        }
        slots[hole] = default;
    }

    private static Slot[] Rehash(ReadOnlySpan<Slot> from, int size)
    {
        var slots = new Slot[size];
        var mask = size - 1;
        foreach (var slot in from)
        {
            if (slot.Key == 0)
            {
                continue;
            }
            var at = (int)(slot.Key & (ulong)mask);
            while (slots[at].Key != 0)
            {
                at = (at + 1) & mask;
            }
            slots[at] = slot;
        }
        return slots;
    }

    internal void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        ProjectionSnapshot.WriteArray<Slot>(writer, _slots);
    }

    /// <summary>Reads the slots as they were written: no temporary arrays, no rehashing (start-up time and memory at 10M events).</summary>
    internal void Read(BinaryReader reader)
    {
        Count = reader.ReadInt32();
        var slots = ProjectionSnapshot.ReadArray<Slot>(reader);
        if (!System.Numerics.BitOperations.IsPow2(slots.Length))
        {
            throw new InvalidDataException("bad id table");
        }
        _slots = slots;
    }

    /// <summary>12 bytes, not the 16 of natural alignment: a fourth less memory for the largest tables of the projection.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private readonly record struct Slot(ulong Key, int Id);
}
