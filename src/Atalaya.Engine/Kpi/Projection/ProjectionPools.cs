namespace Atalaya.Engine.Kpi.Projection;

/// <summary>The dictionaries of the projection's text columns.</summary>
internal sealed class ProjectionPools
{
    private EventKind[] _kinds = new EventKind[16];

    public StringPool Types { get; } = new();
    public StringPool Dimension { get; } = new();
    public StringPool Stores { get; } = new();
    public HashedIdPool Users { get; } = new();
    public HashedIdPool Sessions { get; } = new();
    public HashedIdPool Orders { get; } = new();
    public StringPool Products { get; } = new();

    /// <summary>The KPI kind of an event type id (interned types are classified once).</summary>
    public EventKind KindOf(int type)
    {
        if (type >= _kinds.Length)
        {
            Array.Resize(ref _kinds, Math.Max(type + 1, _kinds.Length * 2));
        }
        if (type > 0 && _kinds[type] == EventKind.Other)
        {
            _kinds[type] = Classify(Types[type]);
        }
        return _kinds[type];
    }

    private static EventKind Classify(string? type) => type switch
    {
        "page_view" => EventKind.PageView,
        "store_visited" => EventKind.StoreVisited,
        "product_viewed" => EventKind.ProductViewed,
        "product_searched" => EventKind.ProductSearched,
        "add_to_cart" => EventKind.AddToCart,
        "checkout_started" => EventKind.CheckoutStarted,
        "purchase_completed" => EventKind.PurchaseCompleted,
        "order_status_changed" => EventKind.OrderStatusChanged,
        "payment_succeeded" => EventKind.PaymentSucceeded,
        "payment_failed" => EventKind.PaymentFailed,
        "lead_created" => EventKind.LeadCreated,
        "user_signed_up" => EventKind.UserSignedUp,
        "store_created" => EventKind.StoreCreated,
        "subscription_charged" => EventKind.SubscriptionCharged,
        "inventory_snapshot" => EventKind.InventorySnapshot,
        _ => EventKind.Other,
    };
}
