using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

// mrr: subscription charges of the month to date.
internal sealed partial class KpiEvaluator
{
    /// <summary>mrr: subscription charges from the start of the month holding each period's end, up to that end.</summary>
    private void EvaluateMrr()
    {
        var from = _grid.MonthStart.Min();
        foreach (var (group, charges) in Collect(EventKind.SubscriptionCharged, from, _grid.End, FactValue.None, countedOnly: false))
        {
            var cells = CellsOf(group);
            for (var p = 0; p < _grid.Count; p++)
            {
                double sum = 0;
                foreach (var charge in charges)
                {
                    if (charge.Ts >= _grid.MonthStart[p] && charge.Ts < _grid.Bounds[p + 1])
                    {
                        sum += charge.Amount;
                    }
                }
                cells[p].Mrr = sum;
            }
        }
    }
}
