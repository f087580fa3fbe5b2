namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// For each <see cref="EventKind"/>, its catalog events in storage order, so that a KPI over orders
/// or payments touches those events only (a few percent of all events) instead of scanning every
/// event of the range. Blocks of entries carry their time range (zone maps), so a range query skips
/// the blocks outside it. For the money and order kinds the entries also carry the facts their
/// KPIs read — time, dimension combination, user, reporting-currency amount, a per-kind integer
/// (units of a purchase, final status of a status change) and whether the entry counts (the
/// order's first purchase or final status) — as columns of their own, so those scans read memory
/// in order instead of jumping around the projection.
/// </summary>
internal sealed class KindIndex
{
    /// <summary>Entries per zone-map block.</summary>
    public const int Block = 1024;

    private static readonly int KindCount = Enum.GetValues<EventKind>().Length;

    private readonly KindColumns[] _kinds = new KindColumns[KindCount];

    public KindIndex()
    {
        for (var k = 0; k < KindCount; k++)
        {
            _kinds[k] = new KindColumns(IsRich((EventKind)k));
        }
    }

    /// <summary>Kinds whose facts are kept in the index (about a tenth of all events).</summary>
    public static bool IsRich(EventKind kind) => kind is EventKind.PurchaseCompleted or EventKind.PaymentSucceeded or EventKind.PaymentFailed
        or EventKind.OrderStatusChanged or EventKind.SubscriptionCharged or EventKind.LeadCreated or EventKind.InventorySnapshot;

    public KindColumns this[EventKind kind] => _kinds[(int)kind];

    public ReadOnlySpan<int> Of(EventKind kind) => _kinds[(int)kind].Events;

    /// <summary>Adds an event; returns its position among its kind's entries.</summary>
    public int Add(EventKind kind, int index, long ts, int combo = 0, int user = 0, double amount = 0, int aux = 0) =>
        _kinds[(int)kind].Add(index, ts, combo, user, amount, aux);

    /// <summary>The entries of <paramref name="kind"/> in the blocks that may hold an event in [from, to).</summary>
    public IEnumerable<(int Start, int Length)> BlocksIn(EventKind kind, long from, long to) => _kinds[(int)kind].BlocksIn(from, to);

    public void Remap(IReadOnlyDictionary<int, int> moved)
    {
        foreach (var kind in _kinds)
        {
            kind.Remap(moved);
        }
    }

    internal void Write(BinaryWriter writer)
    {
        foreach (var kind in _kinds)
        {
            kind.Write(writer);
        }
    }

    internal void Read(BinaryReader reader)
    {
        foreach (var kind in _kinds)
        {
            kind.Read(reader);
        }
    }
}
