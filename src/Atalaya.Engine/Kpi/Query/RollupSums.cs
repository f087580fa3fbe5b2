using System.Collections.Concurrent;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Sums of the hour rollup's tables over whole periods (UTC hours [From, To)) per group key of a
/// grouping, as last added up, with the table's <see cref="RollupTable.Version"/> they were added up at. They
/// hold while no entry of those days changed since (<see cref="RollupTable.UnchangedSince"/>), so a
/// dashboard's past weeks and days are added up once and only the periods still receiving events
/// again: over 90 days by week, the sessions' entries were most of a weekly question's time, and
/// under ingest the orders' entries were most of a summary's. Exact: a sum is reused only when its
/// entries are as they were, and it is the same sum, in the same order, as the pass over the
/// entries makes for the cell (<see cref="IRollupColumns"/>). Bounded: cleared when
/// it holds <see cref="MaxValues"/> values, a period of more than <see cref="MaxPeriodValues"/> is
/// not kept (a grouping by store), and dropped with the scratch pools when the hub is idle. One per
/// projection, for all its tables; readers share it under the read lock.
/// </summary>
internal sealed class RollupSums
{
    private const int MaxValues = 1 << 20;
    private const int MaxPeriodValues = 1 << 16;

    private readonly ConcurrentDictionary<(RollupTable Table, string Grouping, int From, int To), Period> _periods = new();
    private long _values;

    public RollupSums()
    {
        var sums = new WeakReference<RollupSums>(this);
        Storage.ScratchMemory.RegisterHolder(() =>
        {
            if (sums.TryGetTarget(out var target))
            {
                target.Clear();
            }
        });
    }

    /// <summary>One period's sums: per group key with an entry (<see cref="Keys"/>), the same number of values each.</summary>
    public sealed record Period(long Version, int[] Keys, double[] Values);

    /// <summary>The sums of [from, to) for <paramref name="grouping"/> when they still hold, else null.</summary>
    public Period? Find(RollupTable table, string grouping, int from, int to) =>
        _periods.TryGetValue((table, grouping, from, to), out var period) && table.UnchangedSince(period.Version, from, to) ? period : null;

    public void Keep(RollupTable table, string grouping, int from, int to, Period period)
    {
        if (period.Values.Length > MaxPeriodValues)
        {
            return;
        }
        if (Interlocked.Add(ref _values, period.Values.Length) > MaxValues)
        {
            Clear();
            Interlocked.Add(ref _values, period.Values.Length);
        }
        _periods[(table, grouping, from, to)] = period;
    }

    private void Clear()
    {
        _periods.Clear();
        Interlocked.Exchange(ref _values, 0);
    }
}
