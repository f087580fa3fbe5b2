namespace Atalaya.Engine.Kpi.Projection;

/// <summary>What the KPI engine keeps of one stored event, read by <see cref="StoredEventReader"/>.</summary>
internal sealed class EventFacts
{
    public long TimestampMs;
    public int Type;
    public EventKind Kind;
    public bool Custom;
    public bool NoFx;
    public double Fx = double.NaN;

    // Context dimensions (pool ids, 0 = none).
    public int Country, Hub, Zone, Category, Source, Platform, AppId;

    // The top-level source_system (a dimension too, pool id).
    public int SourceSystem;

    // lead_created's priority (a dimension of lead KPIs, pool id).
    public int Priority;

    public int Store, User, Session, Order, Product;
    public string? ProductName;

    public double Total, Amount, SnapshotTotal, Commission;

    /// <summary>snapshot.refunded_amount and snapshot.commission_reversed, NaN when absent.</summary>
    public double Refunded = double.NaN, Reversed = double.NaN;

    /// <summary>inventory_snapshot's quantity_available.</summary>
    public long Quantity;

    public FinalStatus Status;
    public bool HasSnapshot;

    // store_created's own dimension row.
    public int StoreCountry, StoreHub, StoreZone, StoreCategory;

    public readonly List<(int Product, int Quantity, double Price)> Items = [];

    public void Clear()
    {
        TimestampMs = 0;
        Type = 0;
        Kind = EventKind.Other;
        Custom = NoFx = HasSnapshot = false;
        Fx = double.NaN;
        Country = Hub = Zone = Category = Source = Platform = AppId = SourceSystem = Priority = 0;
        Store = User = Session = Order = Product = 0;
        ProductName = null;
        Total = Amount = SnapshotTotal = Commission = 0;
        Refunded = Reversed = double.NaN;
        Status = FinalStatus.None;
        Quantity = 0;
        StoreCountry = StoreHub = StoreZone = StoreCategory = 0;
        Items.Clear();
    }
}
