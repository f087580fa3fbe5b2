using System.Collections.Concurrent;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// The group keys of the combinations a grouping (group_by, filters and scope) matches, numbered
/// per grouping: each matching combination's key as a number (in order of first sight over the
/// combination ids), with how many of the projection's combinations were looked at. Combinations
/// are only ever added and a combination's dimensions never change, so the next query with the
/// same grouping hashes only the new ones; a query then finds a combination's group with two array
/// reads instead of building and hashing its key (for a dashboard's GMV by country, done per
/// combination and query, that was about a tenth of the hub's CPU under ingest). One per
/// projection; queries share it under the read lock, one at a time per grouping. Bounded: cleared
/// when it holds <see cref="MaxGroupings"/> groupings.
/// </summary>
internal sealed class GroupKeyNumbers
{
    private const int MaxGroupings = 256;

    private readonly ConcurrentDictionary<string, Keys> _groupings = new(StringComparer.Ordinal);

    /// <summary>
    /// What <see cref="Index"/> hands a query: key numbers for the combinations it asked for (-1:
    /// the combination does not match) and each number's key. Entries below the counts never
    /// change, so a query reads them without the lock while another query appends.
    /// </summary>
    public readonly record struct KeyIndex(int[] KeyOfCombo, DimensionCombo[] KeyValues, int KeyCount);

    private sealed class Keys
    {
        public int Combos;
        public int[] KeyOfCombo = new int[64];
        public DimensionCombo[] KeyValues = new DimensionCombo[16];
        public readonly Dictionary<DimensionCombo, int> Numbers = [];
    }

    /// <summary>
    /// The key numbers of combinations 0..<paramref name="combos"/>-1, where
    /// <paramref name="keyOf"/> gives a combination's group key (null: it does not match).
    /// </summary>
    public KeyIndex Index(string grouping, int combos, Func<int, DimensionCombo?> keyOf)
    {
        if (_groupings.Count >= MaxGroupings)
        {
            _groupings.Clear();
        }
        var keys = _groupings.GetOrAdd(grouping, _ => new Keys());
        lock (keys)
        {
            if (keys.KeyOfCombo.Length < combos)
            {
                // A new array rather than a resize in place: queries holding the old one keep reading it.
                var larger = new int[Math.Max(combos, keys.KeyOfCombo.Length * 2)];
                Array.Copy(keys.KeyOfCombo, larger, keys.Combos);
                keys.KeyOfCombo = larger;
            }
            for (var id = keys.Combos; id < combos; id++)
            {
                if (keyOf(id) is not { } key)
                {
                    keys.KeyOfCombo[id] = -1;
                    continue;
                }
                if (!keys.Numbers.TryGetValue(key, out var number))
                {
                    number = keys.Numbers.Count;
                    keys.Numbers[key] = number;
                    if (keys.KeyValues.Length == number)
                    {
                        var larger = new DimensionCombo[number * 2];
                        Array.Copy(keys.KeyValues, larger, number);
                        keys.KeyValues = larger;
                    }
                    keys.KeyValues[number] = key;
                }
                keys.KeyOfCombo[id] = number;
            }
            keys.Combos = Math.Max(keys.Combos, combos);
            return new KeyIndex(keys.KeyOfCombo, keys.KeyValues, keys.Numbers.Count);
        }
    }
}
