using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

internal sealed partial class KpiEvaluator
{
    /// <summary>
    /// Distinct visitors over everything or by country only (no filter, no scope) per whole-hour
    /// period, through the projection's <see cref="VisitorCache"/>: periods whose counts still hold
    /// are read from it, the others are counted in one pass over their visit log entries (at most
    /// <see cref="GroupMasks{TMask}.MaxPeriods"/> of them) and kept. False when the query does not qualify.
    /// </summary>
    private bool CountVisitorsFromCache()
    {
        var byCountry = _scope.GroupBy is [Dimension.Country];
        var log = _projection.Visits;
        if (!_scope.MatchesEverything || !(byCountry || _scope.GroupBy.Count == 0) || !RollupServes() || !log.Complete)
        {
            return false;
        }
        var periods = _grid.Count;
        var hours = new int[periods + 1];
        for (var p = 0; p <= periods; p++)
        {
            HourRollup.TryHour(_grid.Bounds[p], out hours[p]);
        }
        var cache = _projection.VisitorCounts;
        var counts = new VisitorCache.Counts?[periods];
        var missing = new List<int>();
        for (var p = 0; p < periods; p++)
        {
            counts[p] = cache.Find(log, hours[p], hours[p + 1], byCountry);
            if (counts[p] is null)
            {
                missing.Add(p);
            }
        }
        if (missing.Count > GroupMasks<uint>.MaxPeriods)
        {
            return false;
        }
        if (missing.Count > 0)
        {
            CountMissingPeriods(log, hours, missing, byCountry, counts);
        }
        var groupOfCountry = byCountry ? GroupsOfCountries() : null;
        if (!byCountry)
        {
            CellsOf(0);
        }
        for (var p = 0; p < periods; p++)
        {
            if (groupOfCountry is null)
            {
                _cells[0][p].Visitors = counts[p]!.All;
                continue;
            }
            foreach (var (country, n) in counts[p]!.ByCountry)
            {
                if (groupOfCountry[country] is var group and >= 0)
                {
                    _cells[group][p].Visitors = n;
                }
            }
        }
        return true;
    }

    /// <summary>
    /// Counts the <paramref name="missing"/> periods, fills them into <paramref name="counts"/> and
    /// keeps them in the cache: from the tally the last query of the same periods left (adding only
    /// the log's entries since), or from the whole log.
    /// </summary>
    private void CountMissingPeriods(VisitLog log, int[] hours, List<int> missing, bool byCountry, VisitorCache.Counts?[] counts)
    {
        var bounds = new int[missing.Count * 2];
        for (var slot = 0; slot < missing.Count; slot++)
        {
            bounds[2 * slot] = hours[missing[slot]];
            bounds[(2 * slot) + 1] = hours[missing[slot] + 1];
        }
        var cache = _projection.VisitorCounts;
        var key = VisitorTally.Key(byCountry, bounds);
        var users = _projection.Pools.Users.Count + 1;
        var tally = cache.TakeTally(key, log.Generation) ?? new VisitorTally(log.Generation, byCountry, bounds, users);
        try
        {
            tally.CountUpTo(log, users);
            for (var slot = 0; slot < missing.Count; slot++)
            {
                var p = missing[slot];
                counts[p] = tally.CountsOf(slot);
                cache.Keep(hours[p], hours[p + 1], byCountry, counts[p]!);
            }
        }
        catch
        {
            tally.Dispose();
            throw;
        }
        cache.KeepTally(key, tally);
    }

    /// <summary>Each country id's group (-1: filtered out, or no combination has it), from any combination with that country.</summary>
    private int[] GroupsOfCountries()
    {
        var groupOfCountry = new int[_projection.Pools.Dimension.Count + 1];
        Array.Fill(groupOfCountry, UnknownCell);
        for (var combo = 0; combo < _projection.Combos.Count; combo++)
        {
            ref var group = ref groupOfCountry[_projection.Combos[combo].Country];
            if (group == UnknownCell)
            {
                group = ComboGroup(combo);
            }
        }
        return groupOfCountry;
    }
}
