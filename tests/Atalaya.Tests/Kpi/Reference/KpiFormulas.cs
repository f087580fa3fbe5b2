using System.Text.Json;

namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// Each KPI of kpis.v1.json, one line or a few per definition, over one <see cref="KpiSlice"/> and
/// one <see cref="ReferencePeriod"/>. Money is summed in decimal in the reporting currency (an
/// amount without a rate is left out of the sum; its event still counts), then given as a double.
/// Rates and averages over a zero denominator are null; sums and counts of nothing are 0.
/// </summary>
public static class KpiFormulas
{
    /// <summary>The dictionary's KPI ids, in its order (rows are ordered by it).</summary>
    public static readonly IReadOnlyList<string> Ids =
    [
        "gmv", "orders", "aov", "delivered_gmv", "delivered_orders", "commissions", "refunds", "cancelled_orders", "cancelled_gmv", "net_gmv",
        "units_sold", "revenue",
        "payments_success_rate", "leads", "conversion_pct", "visitors", "active_users", "sessions", "pageviews",
        "store_visits", "bounce_rate", "avg_session_duration_s", "conversion_rate", "add_to_cart_rate",
        "cart_abandonment_rate", "checkout_completion_rate", "new_customers", "returning_customers", "ltv",
        "customers", "repeat_customer_rate", "customer_churn_rate",
        "active_stores", "new_stores", "new_users", "store_churn_rate", "mrr", "stock_available", "sell_through_rate",
    ];

    /// <summary>KPIs whose values are whole counts, compared exactly; the others are compared to 1e-6 relative.</summary>
    public static readonly IReadOnlySet<string> Counts = new HashSet<string>(StringComparer.Ordinal)
    {
        "orders", "delivered_orders", "cancelled_orders", "units_sold", "leads", "visitors", "active_users", "sessions", "pageviews",
        "store_visits", "new_customers", "returning_customers", "customers", "active_stores", "new_stores", "new_users", "stock_available",
    };

    private static readonly TimeSpan LeadConversionWindow = TimeSpan.FromSeconds(604_800);

    public static double? Value(string metric, KpiSlice s, ReferencePeriod p) => metric switch
    {
        "gmv" => Money(s.OrdersIn(p), o => o.Number("total")),
        "orders" => s.OrdersIn(p).Count(),
        "aov" => PerCount(MoneyDecimal(s.OrdersIn(p), o => o.Number("total")), s.OrdersIn(p).Count()),
        "delivered_gmv" => (double)Reported(s.LedgerIn("delivery", p)),
        "delivered_orders" => s.LedgerIn("delivery", p).Count(),
        "commissions" => (double)(s.LedgerIn("delivery", p).Sum(l => l.ReportedCommission ?? 0m) - s.LedgerIn("refund", p).Sum(l => l.ReportedCommission ?? 0m)),
        "refunds" => (double)Reported(s.LedgerIn("refund", p)),
        "cancelled_orders" => s.LedgerIn("cancellation", p).Count(),
        "cancelled_gmv" => (double)Reported(s.LedgerIn("cancellation", p)),
        "net_gmv" => (double)(Reported(s.LedgerIn("delivery", p)) - Reported(s.LedgerIn("refund", p))),
        "units_sold" => UnitsSold(s, p),
        "revenue" => Money(s.OfTypeIn("payment_succeeded", p), e => e.Number("amount")),
        "payments_success_rate" => Percent(
            s.OfTypeIn("payment_succeeded", p).Count(),
            s.OfTypeIn("payment_succeeded", p).Count() + s.OfTypeIn("payment_failed", p).Count()),
        "leads" => s.OfTypeIn("lead_created", p).Count(),
        "conversion_pct" => Percent(s.OfTypeIn("lead_created", p).Count(lead => Converted(s, lead)), s.OfTypeIn("lead_created", p).Count()),
        "visitors" or "active_users" => s.EventsIn(p).Where(e => e.User is not null).Select(e => e.User).Distinct(StringComparer.Ordinal).Count(),
        "sessions" => s.SessionsIn(p).Count(),
        "pageviews" => s.OfTypeIn("page_view", p).Count(),
        "store_visits" => s.OfTypeIn("store_visited", p).Count(),
        "bounce_rate" => Percent(s.SessionsIn(p).Count(x => x.EventCount == 1), s.SessionsIn(p).Count()),
        "avg_session_duration_s" => s.SessionsIn(p).Any() ? s.SessionsIn(p).Average(x => x.DurationSeconds) : null,
        "conversion_rate" => Percent(s.SessionsIn(p).Count(x => x.Has("purchase_completed")), s.SessionsIn(p).Count()),
        "add_to_cart_rate" => Percent(s.SessionsIn(p).Count(x => x.Has("add_to_cart")), s.SessionsIn(p).Count(x => x.Has("product_viewed"))),
        "cart_abandonment_rate" => Percent(
            s.SessionsIn(p).Count(x => x.Has("add_to_cart") && !x.Has("purchase_completed")),
            s.SessionsIn(p).Count(x => x.Has("add_to_cart"))),
        "checkout_completion_rate" => Percent(s.SessionsIn(p).Count(x => x.PurchasedAfterCheckout), s.SessionsIn(p).Count(x => x.Has("checkout_started"))),
        "new_customers" => s.FirstOrderOfUser.Values.Count(p.Contains),
        "returning_customers" => s.OrdersIn(p).Where(o => o.User is not null && s.FirstOrderOfUser[o.User] < p.Start)
            .Select(o => o.User).Distinct(StringComparer.Ordinal).Count(),
        "ltv" => PerCount(
            MoneyDecimal(s.OrdersBetween(DateTimeOffset.MinValue, p.End), o => o.Number("total")),
            s.OrdersBetween(DateTimeOffset.MinValue, p.End).Where(o => o.User is not null).Select(o => o.User).Distinct(StringComparer.Ordinal).Count()),
        "customers" => Customers(s.OrdersIn(p)).Count,
        "repeat_customer_rate" => Percent(
            Customers(s.OrdersIn(p)).Count(user => s.FirstOrderOfUser[user] < p.Start),
            Customers(s.OrdersIn(p)).Count),
        "customer_churn_rate" => CustomerChurn(s, p),
        "active_stores" => StoresWithOrders(s.OrdersIn(p)).Count,
        "new_stores" => s.OfTypeIn("store_created", p).Count(),
        "new_users" => s.OfTypeIn("user_signed_up", p).Count(),
        "store_churn_rate" => StoreChurn(s, p),
        "mrr" => Money(s.OfType("subscription_charged").Where(e => e.Timestamp >= p.MonthStart && e.Timestamp < p.End), e => e.Number("amount")),
        "stock_available" => Stock(s, p),
        "sell_through_rate" => Percent(UnitsSold(s, p), UnitsSold(s, p) + Stock(s, p)),
        _ => throw new ArgumentException($"Unknown KPI {metric}.", nameof(metric)),
    };

    /// <summary>"100 × leads whose user has a payment_succeeded at or after the lead and at most 7 days (604,800 s) later / leads."</summary>
    private static bool Converted(KpiSlice s, ReferenceEvent lead) =>
        lead.User is not null
        && s.PaymentsOfUser[lead.User].Any(pay => pay.Timestamp >= lead.Timestamp && pay.Timestamp <= lead.Timestamp + LeadConversionWindow);

    private static int UnitsSold(KpiSlice s, ReferencePeriod p) =>
        (int)s.OrdersIn(p).Sum(o => Items(o).Sum(item => ReferenceEvent.Number(item, "quantity")));

    /// <summary>"Σ over (store, product) of the latest inventory_snapshot.quantity_available at or before the period end" (ties: last stored).</summary>
    private static int Stock(KpiSlice s, ReferencePeriod p) =>
        (int)s.OfType("inventory_snapshot")
            .Where(e => e.Timestamp < p.End && e.Text("store_id") is not null && e.Text("product_id") is not null)
            .GroupBy(e => (Store: e.Text("store_id")!, Product: e.Text("product_id")!))
            .Sum(g => g.OrderBy(e => e.Timestamp).ThenBy(e => e.Seq).Last().Number("quantity_available"));

    /// <summary>"100 × stores active in the previous period … and not in this one / stores active in the previous period."</summary>
    private static double? StoreChurn(KpiSlice s, ReferencePeriod p)
    {
        var before = StoresWithOrders(s.OrdersBetween(p.PreviousStart, p.FullStart));
        var now = StoresWithOrders(s.OrdersIn(p));
        return Percent(before.Count(store => !now.Contains(store)), before.Count);
    }

    /// <summary>"100 × customers of the previous period with no order in this one / customers of the previous period."</summary>
    private static double? CustomerChurn(KpiSlice s, ReferencePeriod p)
    {
        var before = Customers(s.OrdersBetween(p.PreviousStart, p.FullStart));
        var now = Customers(s.OrdersIn(p));
        return Percent(before.Count(user => !now.Contains(user)), before.Count);
    }

    /// <summary>Distinct users of orders (orders without a user are nobody's).</summary>
    private static HashSet<string> Customers(IEnumerable<ReferenceEvent> orders) =>
        orders.Select(o => o.User).OfType<string>().ToHashSet(StringComparer.Ordinal);

    private static HashSet<string> StoresWithOrders(IEnumerable<ReferenceEvent> orders) =>
        orders.Select(o => o.Text("store_id")).OfType<string>().ToHashSet(StringComparer.Ordinal);

    private static IEnumerable<JsonElement> Items(ReferenceEvent order) =>
        order.Properties.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array
            ? items.EnumerateArray()
            : [];

    /// <summary>Σ of ledger lines' amounts in the reporting currency (a line without a rate adds nothing).</summary>
    private static decimal Reported(IEnumerable<LedgerLine> lines) => lines.Sum(l => l.ReportedAmount ?? 0m);

    public static decimal MoneyDecimal(IEnumerable<ReferenceEvent> events, Func<ReferenceEvent, decimal> amount) =>
        events.Sum(e => e.Reported(amount(e)) ?? 0m);

    private static double Money(IEnumerable<ReferenceEvent> events, Func<ReferenceEvent, decimal> amount) =>
        (double)MoneyDecimal(events, amount);

    private static double? PerCount(decimal amount, int count) => count == 0 ? null : (double)(amount / count);

    private static double? Percent(int part, int whole) => whole == 0 ? null : 100.0 * part / whole;
}
