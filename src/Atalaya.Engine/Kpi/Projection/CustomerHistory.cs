namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// What the customer KPIs need from all history when a query has no filter, no scope and no
/// group_by (the admin summary, the admin dashboard): each user's first counted purchase time, how
/// many users have one, and the counted purchases' orders and GMV per UTC hour. With these a query
/// reads only the purchases from its range's start on instead of every purchase before it: a
/// user's first order is a lookup, and the orders and customers before the range are totals minus
/// what the range holds. Queries with a filter, a scope or groups still read every purchase
/// (a user's first order in a country is not their first order).
///
/// Kept exact in place with the "counted" mark of purchases: a purchase that becomes its order's
/// counted one can only lower its user's first time; one that stops being counted (an earlier
/// event of the same order arrived) and was its user's first makes that user's time be read again
/// from their counted purchases (rare: it takes two purchase events of one order). Not written in
/// the snapshot: <see cref="Rebuild"/> derives it from the purchase columns after a snapshot load.
/// </summary>
internal sealed class CustomerHistory
{
    /// <summary>Per user, the position of their first counted purchase in the purchase columns (-1: none): 4 bytes a user, not 8 for a time.</summary>
    private GrowableArray<int> _first = new(-1);
    private KindColumns? _purchases;

    /// <summary>Counted purchases per UTC hour (key combination 0): orders | GMV.</summary>
    public RollupTable Hours { get; } = new(1, 0);

    /// <summary>Users with at least one counted purchase.</summary>
    public int Customers { get; private set; }

    /// <summary>False once a purchase fell outside the hours an int can number: queries then read every purchase.</summary>
    public bool Complete { get; private set; } = true;

    /// <summary>The time of <paramref name="user"/>'s first counted purchase, <see cref="long.MaxValue"/> when none.</summary>
    public long FirstOrder(int user) => _first.Get(user) is var k and >= 0 ? _purchases!.Ts[k] : long.MaxValue;

    /// <summary>A purchase became its order's counted one, or stopped being it.</summary>
    public void Counted(KindColumns purchases, int position, bool counted)
    {
        var ts = purchases.Ts[position];
        var amount = purchases.Amount[position];
        if (HourRollup.TryHour(ts, out var hour))
        {
            var e = Hours.Entry(hour, 0);
            if (counted)
            {
                Hours.AddSum(e, 0, amount);
                Hours.AddCount(e, 0, 1);
            }
            else
            {
                Hours.AddCount(e, 0, -1);
                if (Hours.Counts(0)[e] != 0)
                {
                    Hours.AddSum(e, 0, -amount);
                }
            }
        }
        else
        {
            Complete = false;
        }
        var user = purchases.User[position];
        if (user == 0)
        {
            return;
        }
        _purchases = purchases;
        ref var first = ref _first.At(user);
        if (counted)
        {
            if (first < 0)
            {
                Customers++;
                first = position;
            }
            else if (ts < purchases.Ts[first])
            {
                first = position;
            }
        }
        else if (first == position)
        {
            // The purchase's mark is already cleared: the user's other counted purchases decide.
            first = -1;
            var users = purchases.User;
            var times = purchases.Ts;
            var marks = purchases.Counted;
            for (var k = 0; k < users.Length; k++)
            {
                if (users[k] == user && marks[k] && (first < 0 || times[k] < times[first]))
                {
                    first = k;
                }
            }
            if (first < 0)
            {
                Customers--;
            }
        }
    }

    /// <summary>Derives everything from the purchase columns (after a snapshot load).</summary>
    public void Rebuild(KindColumns purchases)
    {
        var counted = purchases.Counted;
        for (var k = 0; k < counted.Length; k++)
        {
            if (counted[k])
            {
                Counted(purchases, k, counted: true);
            }
        }
    }
}
