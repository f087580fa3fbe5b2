namespace Atalaya.Engine.Kpi.Query;

/// <summary>The partial sums of one group × period, from which every KPI value is derived.</summary>
internal struct Cell
{
    public double Gmv, DeliveredGmv, Commissions, Refunds, CancelledGmv, Revenue, Mrr;
    public long Orders, Units, DeliveredOrders, CancelledOrders, PaySucceeded, PayFailed, Leads, LeadsConverted;
    public long Pageviews, StoreVisits, NewStores, NewUsers;
    public long Sessions, Bounces, DurationMs, SessionsPurchase, SessionsCart, SessionsViewed, SessionsCheckout, SessionsCheckoutCompleted, SessionsCartNoPurchase;
    public long Visitors, ActiveStores, NewCustomers, Returning, Stock;
    public double? Ltv, Churn, CustomerChurn;

    public readonly double? Value(KpiId metric) => metric switch
    {
        KpiId.Gmv => Gmv,
        KpiId.Orders => Orders,
        KpiId.Aov => Ratio(Gmv, Orders, 1),
        KpiId.DeliveredGmv => DeliveredGmv,
        KpiId.DeliveredOrders => DeliveredOrders,
        KpiId.Commissions => Commissions,
        KpiId.Refunds => Refunds,
        KpiId.CancelledOrders => CancelledOrders,
        KpiId.CancelledGmv => CancelledGmv,
        KpiId.NetGmv => DeliveredGmv - Refunds,
        KpiId.UnitsSold => Units,
        KpiId.Revenue => Revenue,
        KpiId.PaymentsSuccessRate => Ratio(PaySucceeded, PaySucceeded + PayFailed, 100),
        KpiId.Leads => Leads,
        KpiId.ConversionPct => Ratio(LeadsConverted, Leads, 100),
        KpiId.Visitors or KpiId.ActiveUsers => Visitors,
        KpiId.Sessions => Sessions,
        KpiId.Pageviews => Pageviews,
        KpiId.StoreVisits => StoreVisits,
        KpiId.BounceRate => Ratio(Bounces, Sessions, 100),
        KpiId.AvgSessionDurationS => Ratio(DurationMs / 1000.0, Sessions, 1),
        KpiId.ConversionRate => Ratio(SessionsPurchase, Sessions, 100),
        KpiId.AddToCartRate => Ratio(SessionsCart, SessionsViewed, 100),
        KpiId.CartAbandonmentRate => Ratio(SessionsCartNoPurchase, SessionsCart, 100),
        KpiId.CheckoutCompletionRate => Ratio(SessionsCheckoutCompleted, SessionsCheckout, 100),
        KpiId.NewCustomers => NewCustomers,
        KpiId.ReturningCustomers => Returning,
        KpiId.Ltv => Ltv,
        // A customer of the period ordered in it for the first time (new) or again (returning): the two partition them.
        KpiId.Customers => NewCustomers + Returning,
        KpiId.RepeatCustomerRate => Ratio(Returning, NewCustomers + Returning, 100),
        KpiId.CustomerChurnRate => CustomerChurn,
        KpiId.ActiveStores => ActiveStores,
        KpiId.NewStores => NewStores,
        KpiId.NewUsers => NewUsers,
        KpiId.StoreChurnRate => Churn,
        KpiId.Mrr => Mrr,
        KpiId.StockAvailable => Stock,
        KpiId.SellThroughRate => Ratio(Units, Units + Stock, 100),
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };

    private static double? Ratio(double numerator, double denominator, double scale) =>
        denominator == 0 ? null : scale * numerator / denominator;
}
