using System.IO.Hashing;
using System.Text;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Dictionary encoding of one text column: each distinct value gets a dense id from 1; 0 means
/// "no value". Lookups from UTF-16 spans do not allocate, so reading a stored event only allocates
/// for values seen for the first time. The commit path holds values as the UTF-8 bytes the
/// collector wrote: <see cref="InternUtf8"/> finds them by those bytes (XxHash3, then the bytes
/// compared), without decoding to UTF-16 and hashing the string, which was ~4 % of the hub's CPU
/// during ingest for stores and products. That table is a cache of this pool's ids, filled as
/// values are met, and never written to the snapshot.
/// </summary>
public sealed class StringPool
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<string?> _values = [null];
    private Utf8Slot[] _utf8Slots = new Utf8Slot[64];
    private byte[]?[] _utf8Keys = new byte[]?[64];
    private int _utf8Count;

    public StringPool() => _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Ids in use are 1..Count.</summary>
    public int Count => _values.Count - 1;

    public string? this[int id] => _values[id];

    public int Intern(ReadOnlySpan<char> value)
    {
        if (_lookup.TryGetValue(value, out var id))
        {
            return id;
        }
        var text = value.ToString();
        id = _values.Count;
        _ids.Add(text, id);
        _values.Add(text);
        return id;
    }

    /// <summary>The id of the value whose UTF-8 bytes are <paramref name="utf8"/> (not empty, valid UTF-8), interning it if new.</summary>
    public int InternUtf8(ReadOnlySpan<byte> utf8)
    {
        var hash = XxHash3.HashToUInt64(utf8);
        var slots = _utf8Slots;
        var mask = slots.Length - 1;
        var at = (int)hash & mask;
        for (; slots[at].Id != 0; at = (at + 1) & mask)
        {
            if (slots[at].Hash == hash && utf8.SequenceEqual(_utf8Keys[slots[at].Id]))
            {
                return slots[at].Id;
            }
        }
        var text = Encoding.UTF8.GetString(utf8);
        if (!_ids.TryGetValue(text, out var id))
        {
            id = _values.Count;
            _ids.Add(text, id);
            _values.Add(text);
        }
        if (id >= _utf8Keys.Length)
        {
            Array.Resize(ref _utf8Keys, Math.Max(_utf8Keys.Length * 2, id + 1));
        }
        _utf8Keys[id] = utf8.ToArray();
        slots[at] = new Utf8Slot(hash, id);
        if (++_utf8Count * 2 > slots.Length)
        {
            _utf8Slots = Rehash(slots, slots.Length * 2);
        }
        return id;
    }

    private static Utf8Slot[] Rehash(Utf8Slot[] from, int size)
    {
        var slots = new Utf8Slot[size];
        var mask = size - 1;
        foreach (var slot in from)
        {
            if (slot.Id == 0)
            {
                continue;
            }
            var at = (int)slot.Hash & mask;
            while (slots[at].Id != 0)
            {
                at = (at + 1) & mask;
            }
            slots[at] = slot;
        }
        return slots;
    }

    private readonly record struct Utf8Slot(ulong Hash, int Id);

    /// <summary>The id of <paramref name="value"/>, or 0 when it was never seen.</summary>
    public int Find(string value) => _ids.TryGetValue(value, out var id) ? id : 0;

    internal void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        for (var id = 1; id < _values.Count; id++)
        {
            writer.Write(_values[id]!);
        }
    }

    internal void Read(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        for (var id = 1; id <= count; id++)
        {
            var text = reader.ReadString();
            _ids.Add(text, id);
            _values.Add(text);
        }
    }
}
