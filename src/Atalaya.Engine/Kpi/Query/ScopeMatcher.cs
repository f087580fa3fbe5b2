using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Filters, the reader's scope and group keys compiled against the projection's dimension
/// combinations: for each combination, once per query, whether it passes the filters and the scope
/// and which group it falls in. Per event that leaves two array lookups. Groups get dense indexes
/// in order of first sight. This is the one place where scope is enforced: every KPI, session,
/// history and analysis pass asks it.
/// </summary>
internal sealed class ScopeMatcher : IDisposable
{
    private readonly QueryScratch _scratch = new();
    private readonly int _comboCount;
    private readonly bool[] _matches;
    private readonly bool[] _matchesWithoutPriority;
    private readonly int[] _groupOfCombo;
    private readonly Dimension[] _groupBy;
    private readonly Dictionary<DimensionCombo, int> _groups = [];
    private readonly List<int[]> _groupValues = [];
    private readonly ComboTable _combos;
    /// <summary>A bit per group_by dimension (1 &lt;&lt; dimension).</summary>
    private readonly int _kept;
    private readonly GroupKeyNumbers _groupKeyNumbers;
    /// <summary>What decides the groups: group_by, filters and scope (the key of <see cref="GroupKeyNumbers"/>).</summary>
    private readonly string _groupingKey;

    public ScopeMatcher(KpiProjection projection, DimensionFilter filter, IReadOnlyList<Dimension> groupBy, AccessScope scope)
    {
        CheckWithin(filter, scope);
        _combos = projection.Combos;
        _groupBy = [.. groupBy];
        foreach (var d in _groupBy)
        {
            _kept |= 1 << (int)d;
        }
        _groupKeyNumbers = projection.GroupKeyNumbers;
        var allowed = filter.Values.Concat(scope.AsFilters()).Select(f =>
        {
            var ids = f.Value.Select(v => projection.FindValue(f.Key, v)).Where(id => id != 0).ToHashSet();
            return (Dimension: f.Key, Ids: ids);
        }).ToArray();
        _groupingKey = string.Join(',', _groupBy) + "/" + string.Join(';', allowed
            .Select(a => $"{a.Dimension}:{string.Join(',', a.Ids.Order())}").Order(StringComparer.Ordinal));
        _comboCount = _combos.Count;
        MatchesEverything = allowed.Length == 0;
        _matches = _scratch.Bools(_comboCount, MatchesEverything);
        _groupOfCombo = _scratch.Ints(_comboCount, -1);
        DecidedByCountry = allowed.All(a => a.Dimension == Dimension.Country) && _groupBy.All(d => d == Dimension.Country);
        if (!MatchesEverything)
        {
            for (var id = 0; id < _comboCount; id++)
            {
                var combo = _combos[id];
                _matches[id] = allowed.All(a => a.Ids.Contains(combo.Get(a.Dimension)));
            }
        }
        var withoutPriority = allowed.Where(a => a.Dimension != Dimension.Priority).ToArray();
        if (withoutPriority.Length == allowed.Length)
        {
            _matchesWithoutPriority = _matches;
        }
        else
        {
            _matchesWithoutPriority = _scratch.Bools(_comboCount, false);
            for (var id = 0; id < _comboCount; id++)
            {
                var combo = _combos[id];
                _matchesWithoutPriority[id] = withoutPriority.All(a => a.Ids.Contains(combo.Get(a.Dimension)));
            }
        }
        if (_groupBy.Length == 0)
        {
            _groupValues.Add([]);
        }
    }

    /// <summary>A filter value on a scoped dimension must be inside the scope.</summary>
    public static void CheckWithin(DimensionFilter filter, AccessScope scope)
    {
        foreach (var (dimension, values) in filter.Values)
        {
            if (scope.Allowed(dimension) is not { } allowed)
            {
                continue;
            }
            foreach (var value in values)
            {
                if (!allowed.Contains(value, StringComparer.Ordinal))
                {
                    throw new ScopeViolationException(
                        $"{Dimensions.Name(dimension)} '{value}' is outside this token's scope ({Dimensions.Name(dimension)}: {string.Join(", ", allowed)})");
                }
            }
        }
    }

    public IReadOnlyList<int[]> GroupValues => _groupValues;

    /// <summary>No filter and no scope: every combination matches (structures kept over all combinations can answer).</summary>
    public bool MatchesEverything { get; }

    /// <summary>Filters, scope and group keys name no dimension but the country: a combination's country alone decides its match and group.</summary>
    public bool DecidedByCountry { get; }

    private GroupKeyNumbers.KeyIndex? _keyIndex;
    /// <summary>Per key number of <see cref="KeyIndexNow"/>, this query's group (-1: not seen yet).</summary>
    private int[]? _groupOfKey;

    /// <summary>
    /// The grouping's key numbers (<see cref="GroupKeyNumbers"/>), taken once per query: counted on
    /// from the last query with the same grouping, since a marketplace has tens of thousands of
    /// combinations and hashing each one's group key on every query was a quarter of a dashboard's
    /// read time under ingest.
    /// </summary>
    private GroupKeyNumbers.KeyIndex KeyIndexNow() =>
        _keyIndex ??= _groupKeyNumbers.Index(_groupingKey, _comboCount, id => _matches[id] ? GroupKey(_combos[id]) : null);

    /// <summary>How many groups the matching combinations fall in (at least 1): an upper bound on the groups an answer can have.</summary>
    public int GroupCount => _groupBy.Length == 0 ? 1 : Math.Max(1, KeyIndexNow().KeyCount);

    public IReadOnlyList<Dimension> GroupBy => _groupBy;

    public bool Matches(EventChunk chunk, int i) => _matches[chunk.Combo[i]];

    public bool MatchesCombo(int combo) => _matches[combo];

    /// <summary>
    /// Whether a combination passes the filters and scope but for a priority filter: the payments a
    /// lead converts with have no priority (only leads do), yet follow the lead's other filters.
    /// </summary>
    public bool MatchesComboWithoutPriority(int combo) => _matchesWithoutPriority[combo];

    /// <summary>A combination's group key without its priority: where a lead's payments are looked for.</summary>
    public DimensionCombo GroupKeyWithoutPriority(int combo) => GroupKey(_combos[combo]) with { Priority = 0 };

    /// <summary>The dense group index of event i, registering a new group on first sight.</summary>
    public int GroupOf(EventChunk chunk, int i) => GroupOfCombo(chunk.Combo[i]);

    public int GroupOfCombo(int comboId)
    {
        var group = _groupOfCombo[comboId];
        if (group >= 0)
        {
            return group;
        }
        if (_groupBy.Length == 0)
        {
            return _groupOfCombo[comboId] = 0;
        }
        var index = KeyIndexNow();
        var number = index.KeyOfCombo[comboId];
        if (number < 0)
        {
            // A combination outside the filters: no key number; its group as on first sight.
            return _groupOfCombo[comboId] = NewOrKnownGroup(GroupKey(_combos[comboId]));
        }
        return _groupOfCombo[comboId] = GroupOfKeyNumber(number);
    }

    /// <summary>What decides the groups (group_by, filters, scope): state kept between queries is kept per grouping.</summary>
    public string GroupingKey => _groupingKey;

    /// <summary>
    /// A matching combination's group key number, the same for every query with this grouping (0 for
    /// all without group_by); -1 for a combination outside the filters or scope.
    /// </summary>
    public int KeyNumberOfCombo(int comboId) =>
        !_matches[comboId] ? -1 : _groupBy.Length == 0 ? 0 : KeyIndexNow().KeyOfCombo[comboId];

    /// <summary>This query's dense group of a key number from <see cref="KeyNumberOfCombo"/>, registering it on first sight.</summary>
    public int GroupOfKeyNumber(int number)
    {
        if (_groupBy.Length == 0)
        {
            return 0;
        }
        var index = KeyIndexNow();
        _groupOfKey ??= _scratch.Ints(index.KeyCount, -1);
        var group = _groupOfKey[number];
        return group >= 0 ? group : _groupOfKey[number] = NewOrKnownGroup(index.KeyValues[number]);
    }

    /// <summary>The dense group index of a group key, registering it on first sight.</summary>
    private int NewOrKnownGroup(in DimensionCombo key)
    {
        if (!_groups.TryGetValue(key, out var group))
        {
            group = _groupValues.Count;
            _groups[key] = group;
            _groupValues.Add(_groupBy.Select(key.Get).ToArray());
        }
        return group;
    }

    /// <summary>The group key: the combination with every dimension outside group_by cleared.</summary>
    private DimensionCombo GroupKey(in DimensionCombo combo) => new(
        Keep(Dimension.Country, combo.Country), Keep(Dimension.Hub, combo.Hub), Keep(Dimension.Zone, combo.Zone),
        Keep(Dimension.Category, combo.Category), Keep(Dimension.Source, combo.Source), Keep(Dimension.Platform, combo.Platform),
        Keep(Dimension.AppId, combo.AppId), Keep(Dimension.StoreId, combo.Store), Keep(Dimension.SourceSystem, combo.SourceSystem),
        Keep(Dimension.Priority, combo.Priority));

    private int Keep(Dimension d, int value) => (_kept & (1 << (int)d)) != 0 ? value : 0;

    /// <summary>Hands the per-combination arrays back to the pool: call when the query is answered.</summary>
    public void Dispose() => _scratch.Dispose();
}
