using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Filters and group keys compiled against the projection's dictionaries: a filter becomes one
/// lookup table per dimension (id → allowed), a group key a mixed-radix number of the group_by
/// values, mapped to a dense group index as groups are met.
/// </summary>
internal sealed class ScopeMatcher
{
    private readonly (Dimension Dimension, bool[] Allowed)[] _filters;
    private readonly Dimension[] _groupBy;
    private readonly long[] _radix;
    private readonly Dictionary<long, int> _groups = [];
    private readonly List<int[]> _groupValues = [];

    public ScopeMatcher(KpiProjection projection, DimensionFilter filter, IReadOnlyList<Dimension> groupBy)
    {
        _filters = filter.Values.Select(f =>
        {
            var allowed = new bool[projection.ValueCardinality(f.Key)];
            foreach (var value in f.Value)
            {
                var id = projection.FindValue(f.Key, value);
                if (id != 0)
                {
                    allowed[id] = true;
                }
            }
            return (f.Key, allowed);
        }).ToArray();
        _groupBy = [.. groupBy];
        _radix = new long[_groupBy.Length];
        long radix = 1;
        for (var g = _groupBy.Length - 1; g >= 0; g--)
        {
            _radix[g] = radix;
            radix = checked(radix * projection.ValueCardinality(_groupBy[g]));
        }
        if (_groupBy.Length == 0)
        {
            _groups[0] = 0;
            _groupValues.Add([]);
        }
    }

    public int GroupCount => _groupValues.Count;

    public IReadOnlyList<int[]> GroupValues => _groupValues;

    public IReadOnlyList<Dimension> GroupBy => _groupBy;

    public bool Matches(EventChunk chunk, int i)
    {
        foreach (var (dimension, allowed) in _filters)
        {
            if (!allowed[KpiProjection.DimValue(chunk, i, dimension)])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The dense group index of event i, registering a new group on first sight.</summary>
    public int GroupOf(EventChunk chunk, int i)
    {
        if (_groupBy.Length == 0)
        {
            return 0;
        }
        long key = 0;
        for (var g = 0; g < _groupBy.Length; g++)
        {
            key += _radix[g] * KpiProjection.DimValue(chunk, i, _groupBy[g]);
        }
        if (_groups.TryGetValue(key, out var group))
        {
            return group;
        }
        group = _groupValues.Count;
        _groups[key] = group;
        var values = new int[_groupBy.Length];
        for (var g = 0; g < _groupBy.Length; g++)
        {
            values[g] = KpiProjection.DimValue(chunk, i, _groupBy[g]);
        }
        _groupValues.Add(values);
        return group;
    }
}
