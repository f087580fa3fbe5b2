using System.Collections;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// The set of combination ids a chunk holds. Every applied event adds to it, so adding is a bit
/// test (combination ids are dense, a few thousand) rather than a hash-set insert; members are
/// also kept in a list, in order of first sight, for the queries that walk them.
/// </summary>
internal sealed class ComboSet : IEnumerable<int>
{
    private ulong[] _bits = new ulong[64];
    private readonly List<int> _members = [];

    public int Count => _members.Count;

    public void Add(int combo)
    {
        var word = combo >> 6;
        if (word >= _bits.Length)
        {
            Array.Resize(ref _bits, Math.Max(word + 1, _bits.Length * 2));
        }
        var bit = 1UL << (combo & 63);
        if ((_bits[word] & bit) == 0)
        {
            _bits[word] |= bit;
            _members.Add(combo);
        }
    }

    public void UnionWith(IEnumerable<int> combos)
    {
        foreach (var combo in combos)
        {
            Add(combo);
        }
    }

    public void Clear()
    {
        Array.Clear(_bits);
        _members.Clear();
    }

    public List<int>.Enumerator GetEnumerator() => _members.GetEnumerator();

    IEnumerator<int> IEnumerable<int>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
