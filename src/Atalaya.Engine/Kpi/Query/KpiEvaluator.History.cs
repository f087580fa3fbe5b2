using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

internal sealed partial class KpiEvaluator
{
    private readonly record struct Fact(long Ts, int Value, double Amount);

    /// <summary>What a <see cref="Fact"/> carries besides its time and amount.</summary>
    private enum FactValue
    {
        None,
        User,
        Store,
    }

    /// <summary>
    /// The events of one money or order kind matching the filters in [from, to), per group, in
    /// time order, read from the kind's own columns. Used where a KPI needs history beyond the
    /// range (first orders, payments after a lead, the previous period's stores, the month's charges).
    /// </summary>
    private Dictionary<int, List<Fact>> Collect(EventKind kind, long from, long to, FactValue value, bool countedOnly)
    {
        var byGroup = new Dictionary<int, List<Fact>>();
        var columns = _projection.Kinds[kind];
        var ts = columns.Ts;
        var combos = columns.Combo;
        var users = columns.User;
        var amounts = columns.Amount;
        var counted = columns.Counted;
        foreach (var (start, length) in columns.BlocksIn(from, to))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = ts[k];
                if (t < from || t >= to || (countedOnly && !counted[k]) || !_scope.MatchesCombo(combos[k]))
                {
                    continue;
                }
                var group = _scope.GroupOfCombo(combos[k]);
                if (!byGroup.TryGetValue(group, out var list))
                {
                    byGroup[group] = list = [];
                }
                var v = value switch
                {
                    FactValue.User => users[k],
                    FactValue.Store => _projection.Combos[combos[k]].Store,
                    _ => 0,
                };
                list.Add(new Fact(t, v, amounts[k]));
            }
        }
        foreach (var list in byGroup.Values)
        {
            list.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        }
        return byGroup;
    }
}
