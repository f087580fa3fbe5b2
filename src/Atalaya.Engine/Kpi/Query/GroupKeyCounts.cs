using System.Collections.Concurrent;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// The distinct group keys of the combinations a grouping (group_by, filters and scope) matches,
/// per grouping, with how many of the projection's combinations were looked at: combinations are
/// only ever added, so the next query with the same grouping hashes only the new ones. One per
/// projection; queries share it under the read lock, one at a time per grouping. Bounded: cleared
/// when it holds <see cref="MaxGroupings"/> groupings.
/// </summary>
internal sealed class GroupKeyCounts
{
    private const int MaxGroupings = 256;

    private readonly ConcurrentDictionary<string, Keys> _groupings = new(StringComparer.Ordinal);

    private sealed class Keys
    {
        public int Combos;
        public readonly HashSet<DimensionCombo> Seen = [];
    }

    /// <summary>
    /// Distinct keys among combinations 0..<paramref name="combos"/>-1, where
    /// <paramref name="keyOf"/> gives a combination's group key (null: it does not match).
    /// </summary>
    public int Count(string grouping, int combos, Func<int, DimensionCombo?> keyOf)
    {
        if (_groupings.Count >= MaxGroupings)
        {
            _groupings.Clear();
        }
        var keys = _groupings.GetOrAdd(grouping, _ => new Keys());
        lock (keys)
        {
            for (var id = keys.Combos; id < combos; id++)
            {
                if (keyOf(id) is { } key)
                {
                    keys.Seen.Add(key);
                }
            }
            keys.Combos = Math.Max(keys.Combos, combos);
            return keys.Seen.Count;
        }
    }
}
