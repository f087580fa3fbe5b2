using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

internal sealed partial class KpiEvaluator
{
    /// <summary>
    /// Distinct visitors over everything or by country only (no filter, no scope) per whole-hour
    /// period, through the projection's <see cref="VisitorCache"/>: periods whose counts still hold
    /// are read from it, the others are counted in one pass over their visit log entries (at most
    /// <see cref="GroupMasks.MaxPeriods"/> of them) and kept. False when the query does not qualify.
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
        if (missing.Count > GroupMasks.MaxPeriods)
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

    /// <summary>Counts the <paramref name="missing"/> periods from the visit log, fills them into <paramref name="counts"/> and keeps them in the cache.</summary>
    private void CountMissingPeriods(VisitLog log, int[] hours, List<int> missing, bool byCountry, VisitorCache.Counts?[] counts)
    {
        var position = log.Count;
        var slotOf = new int[_grid.Count];
        Array.Fill(slotOf, -1);
        for (var slot = 0; slot < missing.Count; slot++)
        {
            slotOf[missing[slot]] = slot;
        }
        // Each hour's slot (-1: a period already counted) from a table over the missing periods' hours.
        var from = hours[missing[0]];
        var to = hours[missing[^1] + 1];
        var slotOfHour = new int[to - from];
        for (var p = missing[0]; p <= missing[^1]; p++)
        {
            slotOfHour.AsSpan(hours[p] - from, hours[p + 1] - hours[p]).Fill(slotOf[p]);
        }
        // Countries as dense groups (0 for all when not by country).
        var denseOfCountry = new int[_projection.Pools.Dimension.Count + 1];
        Array.Fill(denseOfCountry, -1);
        var countries = new List<int>();
        var entryHours = log.Hours;
        var users = log.Users;
        var entryCountries = log.Countries;
        using var masks = new GroupMasks(_projection.Pools.Users.Count + 1, missing.Count);
        foreach (var (start, length) in log.BlocksIn(from, to))
        {
            for (var e = start; e < start + length; e++)
            {
                var hour = entryHours[e] - from;
                var slot = (uint)hour < (uint)slotOfHour.Length ? slotOfHour[hour] : -1;
                if (slot < 0)
                {
                    continue;
                }
                var group = 0;
                if (byCountry)
                {
                    ref var dense = ref denseOfCountry[entryCountries[e]];
                    if (dense < 0)
                    {
                        dense = countries.Count;
                        countries.Add(entryCountries[e]);
                    }
                    group = dense;
                }
                masks.Add(users[e], group, slot);
            }
        }
        var groups = byCountry ? countries.Count : 1;
        var perCell = masks.CountPerCell(groups);
        for (var slot = 0; slot < missing.Count; slot++)
        {
            var byId = new Dictionary<int, long>();
            for (var g = 0; g < countries.Count; g++)
            {
                if (perCell[(g * missing.Count) + slot] is var n and > 0)
                {
                    byId[countries[g]] = n;
                }
            }
            var p = missing[slot];
            var all = byCountry ? 0 : perCell[slot];
            counts[p] = new VisitorCache.Counts(log.Generation, position, all, byId);
            _projection.VisitorCounts.Keep(hours[p], hours[p + 1], byCountry, counts[p]!);
        }
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
