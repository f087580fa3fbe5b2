using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

internal sealed partial class KpiEvaluator
{
    /// <summary>
    /// stock_available: per group, Σ over (store, product) of the latest inventory_snapshot before
    /// each period's end (ties: last stored), snapshots of any earlier time included. One sweep over
    /// the matching snapshots in time order keeps each (group, store, product)'s latest quantity and
    /// each group's running sum, read off at every period end.
    /// </summary>
    private void EvaluateStock()
    {
        var columns = _projection.Kinds[EventKind.InventorySnapshot];
        var ts = columns.Ts;
        var combos = columns.Combo;
        var snapshots = new List<(long Ts, int Position)>();
        foreach (var (start, length) in columns.BlocksIn(long.MinValue, _grid.End))
        {
            for (var k = start; k < start + length; k++)
            {
                if (ts[k] < _grid.End && columns.Aux[k] != 0 && _projection.Combos[combos[k]].Store != 0 && _scope.MatchesCombo(combos[k]))
                {
                    snapshots.Add((ts[k], k));
                }
            }
        }
        if (snapshots.Count == 0)
        {
            return;
        }
        snapshots.Sort();
        var latest = new Dictionary<(int Group, int Store, int Product), long>();
        var sums = new Dictionary<int, long>();
        var next = 0;
        for (var p = 0; p < _grid.Count; p++)
        {
            var end = _grid.Bounds[p + 1];
            for (; next < snapshots.Count && snapshots[next].Ts < end; next++)
            {
                var k = snapshots[next].Position;
                var group = _scope.GroupOfCombo(combos[k]);
                var key = (group, _projection.Combos[combos[k]].Store, columns.Aux[k]);
                var quantity = (long)columns.Amount[k];
                sums[group] = sums.GetValueOrDefault(group) + quantity - latest.GetValueOrDefault(key);
                latest[key] = quantity;
            }
            foreach (var (group, sum) in sums)
            {
                CellsOf(group)[p].Stock = sum;
            }
        }
    }
}
