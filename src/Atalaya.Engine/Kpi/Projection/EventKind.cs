namespace Atalaya.Engine.Kpi.Projection;

/// <summary>The catalog event types KPIs read; everything else is <see cref="Other"/> (or custom).</summary>
internal enum EventKind : byte
{
    Other,
    PageView,
    StoreVisited,
    ProductViewed,
    ProductSearched,
    AddToCart,
    CheckoutStarted,
    PurchaseCompleted,
    OrderStatusChanged,
    PaymentSucceeded,
    PaymentFailed,
    LeadCreated,
    UserSignedUp,
    StoreCreated,
    SubscriptionCharged,
    InventorySnapshot,
}

/// <summary>Final order statuses that carry a snapshot KPIs read (ENTREGADO, REEMBOLSADO, CANCELADO).</summary>
internal enum FinalStatus : byte
{
    None,
    Delivered,
    Refunded,
    Cancelled,
}

[Flags]
internal enum EventFlags : byte
{
    None = 0,
    /// <summary>Not in the catalog: left out of every KPI.</summary>
    Custom = 1,
    /// <summary>The order's first purchase_completed, or a final status with a line in the order ledger.</summary>
    Counted = 2,
    /// <summary>Its amount had no FX rate: left out of money sums.</summary>
    NoAmount = 4,
}

/// <summary>Session facts KPIs read: which step types a session reached.</summary>
[Flags]
internal enum SessionFlags : byte
{
    None = 0,
    ProductViewed = 1,
    AddToCart = 2,
    CheckoutStarted = 4,
    Purchase = 8,
    /// <summary>A checkout_started with a purchase_completed at or after it (checkout_completion_rate's numerator); once set, never cleared.</summary>
    CheckoutCompleted = 16,
}
