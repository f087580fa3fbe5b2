using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Dense ids (from 1) for identifiers that are counted but never shown — users, sessions, orders —
/// keyed by a 64-bit XxHash3 of the text instead of the text itself: an open-addressing table of
/// 12 bytes a slot, written to and read from a snapshot as two raw arrays. Two distinct ids share
/// a key with probability about n²/2⁶⁵ (about 3·10⁻⁶ for ten million ids), which would merge two
/// users or sessions in distinct counts; amounts are never keyed this way.
/// </summary>
public sealed class HashedIdPool
{
    private ulong[] _keys = new ulong[1024];
    private int[] _ids = new int[1024];

    /// <summary>Ids in use are 1..Count.</summary>
    public int Count { get; private set; }

    public int Intern(ReadOnlySpan<char> value)
    {
        var key = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(value));
        if (key == 0)
        {
            key = 1; // 0 marks an empty slot
        }
        var mask = _keys.Length - 1;
        var slot = (int)(key & (ulong)mask);
        while (_keys[slot] != 0)
        {
            if (_keys[slot] == key)
            {
                return _ids[slot];
            }
            slot = (slot + 1) & mask;
        }
        _keys[slot] = key;
        _ids[slot] = ++Count;
        if (Count * 10 > _keys.Length * 7)
        {
            Grow();
        }
        return Count;
    }

    private void Grow()
    {
        var (keys, ids) = (_keys, _ids);
        _keys = new ulong[keys.Length * 2];
        _ids = new int[keys.Length * 2];
        var mask = _keys.Length - 1;
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] == 0)
            {
                continue;
            }
            var slot = (int)(keys[i] & (ulong)mask);
            while (_keys[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }
            _keys[slot] = keys[i];
            _ids[slot] = ids[i];
        }
    }

    internal void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        ProjectionSnapshot.WriteArray<ulong>(writer, _keys);
        ProjectionSnapshot.WriteArray<int>(writer, _ids);
    }

    internal void Read(BinaryReader reader)
    {
        Count = reader.ReadInt32();
        _keys = ProjectionSnapshot.ReadArray<ulong>(reader);
        _ids = ProjectionSnapshot.ReadArray<int>(reader);
        if (_keys.Length != _ids.Length || !System.Numerics.BitOperations.IsPow2(_keys.Length))
        {
            throw new InvalidDataException("bad id table");
        }
    }
}
