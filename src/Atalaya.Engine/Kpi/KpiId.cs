namespace Atalaya.Engine.Kpi;

/// <summary>The KPIs the engine evaluates; their meaning is in the dictionary file.</summary>
public enum KpiId
{
    Gmv,
    Orders,
    Aov,
    DeliveredGmv,
    DeliveredOrders,
    Commissions,
    Refunds,
    CancelledOrders,
    CancelledGmv,
    NetGmv,
    UnitsSold,
    Revenue,
    PaymentsSuccessRate,
    Leads,
    ConversionPct,
    Visitors,
    ActiveUsers,
    Sessions,
    Pageviews,
    StoreVisits,
    BounceRate,
    AvgSessionDurationS,
    ConversionRate,
    AddToCartRate,
    CartAbandonmentRate,
    CheckoutCompletionRate,
    NewCustomers,
    ReturningCustomers,
    Ltv,
    Customers,
    RepeatCustomerRate,
    CustomerChurnRate,
    ActiveStores,
    NewStores,
    NewUsers,
    StoreChurnRate,
    Mrr,
    StockAvailable,
    SellThroughRate,
}

public static class KpiIds
{
    private static readonly Dictionary<string, KpiId> ByName =
        Enum.GetValues<KpiId>().ToDictionary(Name, StringComparer.Ordinal);

    /// <summary>snake_case id: <c>AvgSessionDurationS</c> → <c>avg_session_duration_s</c>.</summary>
    public static string Name(KpiId id)
    {
        var text = id.ToString();
        var builder = new System.Text.StringBuilder(text.Length + 4);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsUpper(text[i]) && i > 0)
            {
                builder.Append('_');
            }
            builder.Append(char.ToLowerInvariant(text[i]));
        }
        return builder.ToString();
    }

    public static bool TryParse(string name, out KpiId id) => ByName.TryGetValue(name, out id);
}
