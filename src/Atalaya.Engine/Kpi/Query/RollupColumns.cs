using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// How the entries of one family of the hour rollup (<see cref="HourRollup"/>) add into a query's
/// cells: the <see cref="Width"/> values an entry adds, exactly as a cell adds them (a difference
/// of two columns is taken per entry, counts are whole numbers), so a period's sum of them, made
/// from zero in entry order, is bit for bit what the cell would have summed entry by entry. That is
/// what lets <see cref="RollupSums"/> keep a period's sums and hand them to later queries.
/// </summary>
internal interface IRollupColumns
{
    /// <summary>Values an entry adds (and a kept period holds per group key).</summary>
    static abstract int Width { get; }

    /// <summary>The value that holds a period's distinct active stores, or -1 when the family has none.</summary>
    static abstract int StoreSlot { get; }

    /// <summary>Whether entry <paramref name="e"/> holds anything: with every count 0 its sums are 0 too (the table resets them).</summary>
    bool Has(int e);

    /// <summary>Whether entry <paramref name="e"/>'s store counts as active (it has orders).</summary>
    bool StoreActive(int e);

    /// <summary>Adds entry <paramref name="e"/>'s values to <paramref name="v"/>.</summary>
    void AddTo(scoped Span<double> v, int e);

    /// <summary>Adds a sum of entries' values to a cell (not the store slot: the caller sets active stores).</summary>
    static abstract void AddToCell(ref Cell cell, ReadOnlySpan<double> v);
}

/// <summary>Counted purchases: orders, units, GMV, and the distinct stores with orders.</summary>
internal readonly ref struct OrderColumns(RollupTable t) : IRollupColumns
{
    private readonly ReadOnlySpan<int> _orders = t.Counts(HourRollup.OrderCount);
    private readonly ReadOnlySpan<int> _units = t.Counts(HourRollup.OrderUnits);
    private readonly ReadOnlySpan<double> _gmv = t.Sums(HourRollup.OrderGmv);

    public static int Width => 4;

    public static int StoreSlot => 3;

    public bool Has(int e) => (_orders[e] | _units[e]) != 0;

    public bool StoreActive(int e) => _orders[e] > 0;

    public void AddTo(scoped Span<double> v, int e)
    {
        v[0] += _orders[e];
        v[1] += _units[e];
        v[2] += _gmv[e];
    }

    public static void AddToCell(ref Cell cell, ReadOnlySpan<double> v)
    {
        cell.Orders += (long)v[0];
        cell.Units += (long)v[1];
        cell.Gmv += v[2];
    }
}

/// <summary>payment_succeeded, payment_failed and revenue.</summary>
internal readonly ref struct PaymentColumns(RollupTable t) : IRollupColumns
{
    private readonly ReadOnlySpan<int> _succeeded = t.Counts(HourRollup.PaymentSucceeded);
    private readonly ReadOnlySpan<int> _failed = t.Counts(HourRollup.PaymentFailed);
    private readonly ReadOnlySpan<double> _revenue = t.Sums(HourRollup.PaymentRevenue);

    public static int Width => 3;

    public static int StoreSlot => -1;

    public bool Has(int e) => (_succeeded[e] | _failed[e]) != 0;

    public bool StoreActive(int e) => false;

    public void AddTo(scoped Span<double> v, int e)
    {
        v[0] += _succeeded[e];
        v[1] += _failed[e];
        v[2] += _revenue[e];
    }

    public static void AddToCell(ref Cell cell, ReadOnlySpan<double> v)
    {
        cell.PaySucceeded += (long)v[0];
        cell.PayFailed += (long)v[1];
        cell.Revenue += v[2];
    }
}

/// <summary>lead_created.</summary>
internal readonly ref struct LeadColumns(RollupTable t) : IRollupColumns
{
    private readonly ReadOnlySpan<int> _leads = t.Counts(HourRollup.LeadCount);

    public static int Width => 1;

    public static int StoreSlot => -1;

    public bool Has(int e) => _leads[e] != 0;

    public bool StoreActive(int e) => false;

    public void AddTo(scoped Span<double> v, int e) => v[0] += _leads[e];

    public static void AddToCell(ref Cell cell, ReadOnlySpan<double> v) => cell.Leads += (long)v[0];
}

/// <summary>The ledger's lines: deliveries, cancellations and refunds with their money (commissions net of the reversed ones).</summary>
internal readonly ref struct FinalColumns(RollupTable t) : IRollupColumns
{
    private readonly ReadOnlySpan<int> _delivered = t.Counts(HourRollup.FinalDelivered);
    private readonly ReadOnlySpan<int> _cancelled = t.Counts(HourRollup.FinalCancelled);
    private readonly ReadOnlySpan<int> _refundLines = t.Counts(HourRollup.FinalRefundLines);
    private readonly ReadOnlySpan<double> _deliveredGmv = t.Sums(HourRollup.FinalDeliveredGmv);
    private readonly ReadOnlySpan<double> _commissions = t.Sums(HourRollup.FinalCommissions);
    private readonly ReadOnlySpan<double> _cancelledGmv = t.Sums(HourRollup.FinalCancelledGmv);
    private readonly ReadOnlySpan<double> _refunds = t.Sums(HourRollup.FinalRefunds);
    private readonly ReadOnlySpan<double> _reversed = t.Sums(HourRollup.FinalCommissionsReversed);

    public static int Width => 6;

    public static int StoreSlot => -1;

    public bool Has(int e) => (_delivered[e] | _cancelled[e] | _refundLines[e]) != 0;

    public bool StoreActive(int e) => false;

    public void AddTo(scoped Span<double> v, int e)
    {
        v[0] += _delivered[e];
        v[1] += _deliveredGmv[e];
        v[2] += _commissions[e] - _reversed[e];
        v[3] += _cancelled[e];
        v[4] += _cancelledGmv[e];
        v[5] += _refunds[e];
    }

    public static void AddToCell(ref Cell cell, ReadOnlySpan<double> v)
    {
        cell.DeliveredOrders += (long)v[0];
        cell.DeliveredGmv += v[1];
        cell.Commissions += v[2];
        cell.CancelledOrders += (long)v[3];
        cell.CancelledGmv += v[4];
        cell.Refunds += v[5];
    }
}

/// <summary>
/// Sessions by their first event: sessions, bounces, duration (whole milliseconds per entry, as a
/// cell counts it) and the six funnel counts. Whole numbers summed as doubles stay exact below 2^53
/// (about 285,000 years of session time in milliseconds).
/// </summary>
internal readonly ref struct SessionColumns(RollupTable t) : IRollupColumns
{
    private readonly ReadOnlySpan<int> _sessions = t.Counts(HourRollup.SessionCount);
    private readonly ReadOnlySpan<int> _bounces = t.Counts(HourRollup.SessionBounces);
    private readonly ReadOnlySpan<double> _duration = t.Sums(HourRollup.SessionDurationMs);
    private readonly ReadOnlySpan<int> _purchase = t.Counts(HourRollup.SessionPurchase);
    private readonly ReadOnlySpan<int> _cart = t.Counts(HourRollup.SessionCart);
    private readonly ReadOnlySpan<int> _cartNoPurchase = t.Counts(HourRollup.SessionCartNoPurchase);
    private readonly ReadOnlySpan<int> _viewed = t.Counts(HourRollup.SessionViewed);
    private readonly ReadOnlySpan<int> _checkout = t.Counts(HourRollup.SessionCheckout);
    private readonly ReadOnlySpan<int> _checkoutCompleted = t.Counts(HourRollup.SessionCheckoutCompleted);

    public static int Width => 9;

    public static int StoreSlot => -1;

    public bool Has(int e) => _sessions[e] != 0;

    public bool StoreActive(int e) => false;

    public void AddTo(scoped Span<double> v, int e)
    {
        v[0] += _sessions[e];
        v[1] += _bounces[e];
        v[2] += (long)_duration[e];
        v[3] += _purchase[e];
        v[4] += _cart[e];
        v[5] += _cartNoPurchase[e];
        v[6] += _viewed[e];
        v[7] += _checkout[e];
        v[8] += _checkoutCompleted[e];
    }

    public static void AddToCell(ref Cell cell, ReadOnlySpan<double> v)
    {
        cell.Sessions += (long)v[0];
        cell.Bounces += (long)v[1];
        cell.DurationMs += (long)v[2];
        cell.SessionsPurchase += (long)v[3];
        cell.SessionsCart += (long)v[4];
        cell.SessionsCartNoPurchase += (long)v[5];
        cell.SessionsViewed += (long)v[6];
        cell.SessionsCheckout += (long)v[7];
        cell.SessionsCheckoutCompleted += (long)v[8];
    }
}
