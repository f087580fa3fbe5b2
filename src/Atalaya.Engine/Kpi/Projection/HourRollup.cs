namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// The additive parts of the KPIs summed per UTC hour × dimension combination (country, hub, zone,
/// category, source, platform, app_id, store): orders, GMV and units of counted purchases;
/// payments and revenue; leads; the order ledger's lines (deliveries with their GMV and
/// commissions, cancellations and their GMV, refunds and the commissions they reverse); and the
/// session counts (sessions, bounces, duration, steps reached), each session in the hour of its
/// first event; page views and store visits per hour over all combinations. A query whose periods all start and end on whole UTC hours (UTC, whole-hour
/// offsets, DST included) adds up these entries instead of reading events; any other query
/// (a +05:30 zone) reads the events, and both give the same figures.
///
/// It is kept exact in place, like the tables it follows: a purchase enters when it becomes its
/// order's counted one and leaves when an earlier one takes over; a final status's ledger line
/// leaves and enters again whenever a replay of its order changes it; a session leaves
/// its entry and enters its new one whenever an event changes its first event, span, count or
/// steps; a late store_created folds the entries of the combinations its store left into the ones
/// it moved to. It is saved and loaded with the projection's snapshot. Distinct counts (visitors,
/// customers, active stores across entries) are not additive and are never read from here.
/// </summary>
internal sealed class HourRollup
{
    public const long HourMs = 3_600_000;

    // Column numbers of each family.
    public const int OrderCount = 0, OrderUnits = 1, OrderGmv = 0;
    public const int PaymentSucceeded = 0, PaymentFailed = 1, PaymentRevenue = 0;
    public const int LeadCount = 0;
    public const int FinalDelivered = 0, FinalCancelled = 1, FinalRefundLines = 2,
        FinalDeliveredGmv = 0, FinalCommissions = 1, FinalCancelledGmv = 2, FinalRefunds = 3, FinalCommissionsReversed = 4;
    public const int ViewPageViews = 0, ViewStoreVisits = 1;
    public const int SessionCount = 0, SessionBounces = 1, SessionPurchase = 2, SessionCart = 3, SessionCartNoPurchase = 4,
        SessionViewed = 5, SessionCheckout = 6, SessionCheckoutCompleted = 7, SessionDurationMs = 0;

    /// <summary>Counted purchases: orders, units | GMV.</summary>
    public RollupTable Orders { get; } = new(2, OrderCount);

    /// <summary>payment_succeeded, payment_failed | revenue.</summary>
    public RollupTable Payments { get; } = new(2, PaymentSucceeded);

    public RollupTable Leads { get; } = new(1);

    /// <summary>Ledger lines: deliveries, cancellations, refunds | delivered GMV, commissions, cancelled GMV, refunds, reversed commissions.</summary>
    public RollupTable Finals { get; } = new(3, FinalDelivered, FinalDelivered, FinalCancelled, FinalRefundLines, FinalRefundLines);

    /// <summary>
    /// page_view and store_visited per UTC hour over all combinations (key combination 0), for
    /// queries over everything (no filter, scope or group_by: the admin summary): reading them
    /// through the kind index cost a summary about 3 ms at 10M events. Per hour × combination they
    /// took 1.45 million entries (about 4 B an event) at 10M; over all combinations an entry per
    /// hour is all it takes. Other queries still read the kind index. Never remapped: a store's
    /// new dimensions do not move an hour's total.
    /// </summary>
    public RollupTable ViewHours { get; } = new(2);

    /// <summary>Sessions by their first event: sessions, bounces, with a purchase, with a cart, with a cart and no purchase, with a product view, with a checkout, with a purchase after a checkout | duration (ms).</summary>
    public RollupTable Sessions { get; } = new(8, SessionCount);

    /// <summary>False once an event fell outside the hours an int can number: queries then read the events.</summary>
    public bool Complete { get; private set; } = true;

    private IEnumerable<RollupTable> Tables => [Orders, Payments, Leads, Finals, Sessions];

    private IEnumerable<RollupTable> Saved => [.. Tables, ViewHours];

    /// <summary>Per combination, the time of its first and last catalog event (a combination with either in a range has data there).</summary>
    private GrowableArray<long> _comboFirst = new(long.MaxValue);
    private GrowableArray<long> _comboLast = new(long.MinValue);

    public long ComboFirst(int combo) => _comboFirst.Get(combo);

    public long ComboLast(int combo) => _comboLast.Get(combo);

    /// <summary>A catalog event was applied: payments, leads, page views and store visits enter at once (purchases and statuses when counted, sessions through <see cref="Session"/>).</summary>
    public void Add(EventKind kind, long ts, int combo, double amount)
    {
        ref var first = ref _comboFirst.At(combo);
        first = Math.Min(first, ts);
        ref var last = ref _comboLast.At(combo);
        last = Math.Max(last, ts);
        var view = kind switch
        {
            EventKind.PageView => ViewPageViews,
            EventKind.StoreVisited => ViewStoreVisits,
            _ => -1,
        };
        if ((view < 0 && kind is not (EventKind.PaymentSucceeded or EventKind.PaymentFailed or EventKind.LeadCreated)) || !TryHourOrIncomplete(ts, out var hour))
        {
            return;
        }
        if (view >= 0)
        {
            ViewHours.AddCount(ViewHours.Entry(hour, 0), view, 1);
            return;
        }
        if (kind == EventKind.LeadCreated)
        {
            Leads.AddCount(Leads.Entry(hour, combo), LeadCount, 1);
            return;
        }
        var e = Payments.Entry(hour, combo);
        if (kind == EventKind.PaymentFailed)
        {
            Payments.AddCount(e, PaymentFailed, 1);
            return;
        }
        Payments.AddCount(e, PaymentSucceeded, 1);
        Payments.AddSum(e, PaymentRevenue, amount);
    }

    /// <summary>A purchase became its order's counted one (or stopped being it).</summary>
    public void Counted(EventKind kind, long ts, int combo, double amount, int aux, bool counted)
    {
        if (!TryHourOrIncomplete(ts, out var hour))
        {
            return;
        }
        var sign = counted ? 1 : -1;
        if (kind == EventKind.PurchaseCompleted)
        {
            var e = Orders.Entry(hour, combo);
            if (counted)
            {
                Orders.AddSum(e, OrderGmv, amount);
            }
            Orders.AddCount(e, OrderUnits, sign * aux);
            Orders.AddCount(e, OrderCount, sign);
            if (!counted && Orders.Counts(OrderCount)[e] != 0)
            {
                Orders.AddSum(e, OrderGmv, -amount);
            }
        }
    }

    /// <summary>A status event's ledger line enters (<paramref name="sign"/> 1) or leaves (-1) the hour of the event.</summary>
    public void Ledger(long ts, int combo, LedgerEntry line, int sign)
    {
        if (line.Role == LedgerRole.None || !TryHourOrIncomplete(ts, out var hour))
        {
            return;
        }
        var (count, amount, commission) = line.Role switch
        {
            LedgerRole.Delivered => (FinalDelivered, FinalDeliveredGmv, FinalCommissions),
            LedgerRole.Cancelled => (FinalCancelled, FinalCancelledGmv, -1),
            _ => (FinalRefundLines, FinalRefunds, FinalCommissionsReversed),
        };
        var e = Finals.Entry(hour, combo);
        // Leaving: the count first, so that the entry's last line leaves its sums at exactly 0.
        Finals.AddCount(e, count, sign);
        if (sign > 0 || Finals.Counts(count)[e] != 0)
        {
            Finals.AddSum(e, amount, sign * line.Amount);
            if (commission >= 0)
            {
                Finals.AddSum(e, commission, sign * line.Commission);
            }
        }
    }

    /// <summary>A session changed from <paramref name="before"/> (no first event yet: a new session) to <paramref name="after"/>.</summary>
    public void Session(in SessionRow before, in SessionRow after)
    {
        if (!TryHourOrIncomplete(after.FirstTs, out var hour))
        {
            return;
        }
        if (before.FirstEvent >= 0 && TryHour(before.FirstTs, out var beforeHour))
        {
            AddSession(Sessions.Entry(beforeHour, before.FirstCombo), before, -1);
        }
        AddSession(Sessions.Entry(hour, after.FirstCombo), after, 1);
    }

    private void AddSession(int e, in SessionRow row, int sign)
    {
        var f = row.Flags;
        var purchase = (f & SessionFlags.Purchase) != 0;
        var cart = (f & SessionFlags.AddToCart) != 0;
        if (sign > 0)
        {
            Sessions.AddSum(e, SessionDurationMs, row.LastTs - row.FirstTs);
        }
        Sessions.AddCount(e, SessionBounces, row.Events == 1 ? sign : 0);
        Sessions.AddCount(e, SessionPurchase, purchase ? sign : 0);
        Sessions.AddCount(e, SessionCart, cart ? sign : 0);
        Sessions.AddCount(e, SessionCartNoPurchase, cart && !purchase ? sign : 0);
        Sessions.AddCount(e, SessionViewed, (f & SessionFlags.ProductViewed) != 0 ? sign : 0);
        Sessions.AddCount(e, SessionCheckout, (f & SessionFlags.CheckoutStarted) != 0 ? sign : 0);
        Sessions.AddCount(e, SessionCheckoutCompleted, row.CheckoutCompleted ? sign : 0);
        Sessions.AddCount(e, SessionCount, sign);
        if (sign < 0 && Sessions.Counts(SessionCount)[e] != 0)
        {
            Sessions.AddSum(e, SessionDurationMs, -(row.LastTs - row.FirstTs));
        }
    }

    public void Remap(IReadOnlyDictionary<int, int> moved)
    {
        foreach (var table in Tables)
        {
            table.Remap(moved);
        }
        foreach (var (from, to) in moved.Where(m => m.Key != m.Value))
        {
            ref var first = ref _comboFirst.At(to);
            first = Math.Min(first, _comboFirst.Get(from));
            ref var last = ref _comboLast.At(to);
            last = Math.Max(last, _comboLast.Get(from));
            _comboFirst.At(from) = long.MaxValue;
            _comboLast.At(from) = long.MinValue;
        }
    }

    /// <summary>The UTC hour holding <paramref name="ts"/> (floor), when an int numbers it.</summary>
    public static bool TryHour(long ts, out int hour)
    {
        var h = Math.DivRem(ts, HourMs, out var rest);
        if (rest < 0)
        {
            h--;
        }
        hour = (int)h;
        return h == hour;
    }

    private bool TryHourOrIncomplete(long ts, out int hour)
    {
        if (TryHour(ts, out hour))
        {
            return true;
        }
        Complete = false;
        return false;
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(Complete);
        ProjectionSnapshot.WriteArray<long>(w, _comboFirst.Raw);
        ProjectionSnapshot.WriteArray<long>(w, _comboLast.Raw);
        foreach (var table in Saved)
        {
            table.Write(w);
        }
    }

    internal void Read(BinaryReader r)
    {
        Complete = r.ReadBoolean();
        _comboFirst.Raw = ProjectionSnapshot.ReadArray<long>(r);
        _comboLast.Raw = ProjectionSnapshot.ReadArray<long>(r);
        foreach (var table in Saved)
        {
            table.Read(r);
        }
    }
}
