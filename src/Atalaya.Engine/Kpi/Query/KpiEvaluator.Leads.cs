using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

// conversion_pct: leads against their users' payments.
internal sealed partial class KpiEvaluator
{
    /// <summary>
    /// conversion_pct: each lead of the range against the same group's payments of its user within
    /// 7 days. The range's leads (few) are keyed by group and user; one pass over the payments from
    /// the range's start to a week after its end marks the leads each payment converts.
    /// </summary>
    private void EvaluateLeadConversion()
    {
        const long Week = 7L * 24 * 3600 * 1000;
        var leads = _projection.Kinds[EventKind.LeadCreated];
        var byUser = new Dictionary<long, List<(long Ts, int Cell)>>();
        var periods = _grid.Count;
        // A lead and its payments meet on the group's dimensions but priority, which only leads have.
        // Each combination's link is hashed once per query, not once per lead or payment.
        var links = new Dictionary<DimensionCombo, int>();
        var linkOfCombo = _scratch.Ints(_projection.Combos.Count, -1);
        int Link(int combo)
        {
            var link = linkOfCombo[combo];
            if (link >= 0)
            {
                return link;
            }
            var key = _scope.GroupKeyWithoutPriority(combo);
            if (!links.TryGetValue(key, out link))
            {
                links[key] = link = links.Count;
            }
            return linkOfCombo[combo] = link;
        }
        // The users with a lead of the range, one bit each: the payments of the week after are far
        // more than the leads, and most are skipped on this bit before any hashing.
        var withLead = _scratch.Ints((_projection.Pools.Users.Count >> 5) + 1, 0);
        foreach (var (start, length) in leads.BlocksIn(_grid.Start, _grid.End))
        {
            for (var k = start; k < start + length; k++)
            {
                var t = leads.Ts[k];
                var user = leads.User[k];
                if (user == 0 || t < _grid.Start || t >= _grid.End || !_scope.MatchesCombo(leads.Combo[k]))
                {
                    continue;
                }
                withLead[user >> 5] |= 1 << (user & 31);
                var group = _scope.GroupOfCombo(leads.Combo[k]);
                CellsOf(group);
                var key = ((long)Link(leads.Combo[k]) << 32) | (uint)user;
                if (!byUser.TryGetValue(key, out var list))
                {
                    byUser[key] = list = [];
                }
                list.Add((t, (group * periods) + _grid.Find(t)));
            }
        }
        if (byUser.Count == 0)
        {
            return;
        }
        var converted = new HashSet<(long Key, int Index)>();
        var payments = _projection.Kinds[EventKind.PaymentSucceeded];
        foreach (var (start, length) in payments.BlocksIn(_grid.Start, _grid.End + Week + 1))
        {
            for (var k = start; k < start + length; k++)
            {
                var user = payments.User[k];
                if (user == 0 || (withLead[user >> 5] & (1 << (user & 31))) == 0)
                {
                    continue;
                }
                var t = payments.Ts[k];
                if (t < _grid.Start || t > _grid.End + Week || !_scope.MatchesComboWithoutPriority(payments.Combo[k]))
                {
                    continue;
                }
                var key = ((long)Link(payments.Combo[k]) << 32) | (uint)user;
                if (!byUser.TryGetValue(key, out var list))
                {
                    continue;
                }
                for (var i = 0; i < list.Count; i++)
                {
                    if (t >= list[i].Ts && t <= list[i].Ts + Week)
                    {
                        converted.Add((key, i));
                    }
                }
            }
        }
        foreach (var (key, index) in converted)
        {
            var cell = byUser[key][index].Cell;
            _cells[cell / periods][cell % periods].LeadsConverted++;
        }
    }
}
