namespace Atalaya.Engine.Kpi.Projection;

/// <summary>What one final status event is worth in the money KPIs.</summary>
internal enum LedgerRole : byte
{
    /// <summary>Counts nothing: a repeated ENTREGADO, a CANCELADO after a delivery or after the order's cancellation.</summary>
    None,
    Delivered,
    Cancelled,
    Refund,
}

/// <summary>
/// One status event's line in the ledger, in the reporting currency: for a delivery its total and
/// commission, for a cancellation its total, for a refund the refunded amount and the commission it reverses.
/// </summary>
internal readonly record struct LedgerEntry(LedgerRole Role, double Amount, double Commission);

/// <summary>A final status event as the ledger keeps it: amounts as sent (order currency), NaN where absent.</summary>
internal readonly record struct StatusFact(int Position, long Ts, int Index, FinalStatus Status, double Total, double Commission,
    double Refunded, double Reversed, double Fx);

/// <summary>
/// The order lifecycle as a ledger (the dictionary's money rules): each final status event counts
/// once, in the period of its own timestamp, with the amounts of its own snapshot, and a later event
/// never rewrites an earlier period. Per order, its status events are replayed in time order (ties:
/// first stored): the first ENTREGADO is the delivery; a CANCELADO, or a REEMBOLSADO before any
/// delivery, is the cancellation when the order was neither delivered nor cancelled before it;
/// every REEMBOLSADO after the delivery is a refund of snapshot.refunded_amount (else the whole
/// total), capped at what is left of the delivered total, reversing snapshot.commission_reversed
/// (else the delivered commission in proportion), capped at what is left of it. Caps work in the
/// order's own amounts; each line is converted at its own event's rate (no rate: 0, the line still counts).
///
/// Arrival order does not matter: an event that arrives late replays its order, and every line
/// that changed is handed to the caller to move in the rollups. Status events of orders without a
/// purchase are kept and counted like the others (the consistency check reports them).
/// </summary>
internal sealed class OrderLedger
{
    private readonly Dictionary<int, List<StatusFact>> _orders = [];
    private GrowableArray<LedgerEntry> _entries = new(default);

    /// <summary>Orders with at least one final status event.</summary>
    public int OrderCount => _orders.Count;

    /// <summary>The line of the status entry at <paramref name="position"/> among the order_status_changed entries.</summary>
    public LedgerEntry EntryAt(int position) => _entries.Get(position);

    /// <summary>The order's latest final status (by time, ties: last stored), or None when it has none.</summary>
    public FinalStatus LatestStatus(int order) =>
        _orders.TryGetValue(order, out var facts) ? facts[^1].Status : FinalStatus.None;

    /// <summary>The orders with final statuses and their facts in time order (for the consistency check and analyses).</summary>
    public IEnumerable<KeyValuePair<int, List<StatusFact>>> Orders => _orders;

    /// <summary>
    /// Adds a final status event of <paramref name="order"/> and replays the order; <paramref name="changed"/>
    /// gets (position, old line, new line) for each entry whose line changed.
    /// </summary>
    public void Add(int order, StatusFact fact, Action<int, LedgerEntry, LedgerEntry> changed)
    {
        if (!_orders.TryGetValue(order, out var facts))
        {
            facts = [];
            _orders[order] = facts;
        }
        var at = facts.Count;
        while (at > 0 && (facts[at - 1].Ts > fact.Ts || (facts[at - 1].Ts == fact.Ts && facts[at - 1].Index > fact.Index)))
        {
            at--;
        }
        facts.Insert(at, fact);
        Replay(facts, changed);
    }

    private void Replay(List<StatusFact> facts, Action<int, LedgerEntry, LedgerEntry>? changed)
    {
        bool delivered = false, cancelled = false;
        double deliveredTotal = 0, deliveredCommission = 0, refunded = 0, reversed = 0;
        foreach (var f in facts)
        {
            var entry = default(LedgerEntry);
            switch (f.Status)
            {
                case FinalStatus.Delivered when !delivered:
                    delivered = true;
                    deliveredTotal = f.Total;
                    deliveredCommission = f.Commission;
                    entry = new LedgerEntry(LedgerRole.Delivered, Reported(f.Total, f.Fx), Reported(f.Commission, f.Fx));
                    break;
                case FinalStatus.Cancelled or FinalStatus.Refunded when !delivered && !cancelled:
                    cancelled = true;
                    entry = new LedgerEntry(LedgerRole.Cancelled, Reported(f.Total, f.Fx), 0);
                    break;
                case FinalStatus.Refunded when delivered:
                    var asked = double.IsNaN(f.Refunded) ? f.Total : Math.Max(0, f.Refunded);
                    var amount = Math.Min(asked, Math.Max(0, deliveredTotal - refunded));
                    var reversal = !double.IsNaN(f.Reversed) ? Math.Max(0, f.Reversed)
                        : deliveredTotal == 0 ? 0 : deliveredCommission * amount / deliveredTotal;
                    reversal = Math.Min(reversal, Math.Max(0, deliveredCommission - reversed));
                    refunded += amount;
                    reversed += reversal;
                    entry = new LedgerEntry(LedgerRole.Refund, Reported(amount, f.Fx), Reported(reversal, f.Fx));
                    break;
            }
            ref var current = ref _entries.At(f.Position);
            if (current != entry)
            {
                var old = current;
                current = entry;
                changed?.Invoke(f.Position, old, entry);
            }
        }
    }

    private static double Reported(double amount, double fx) => double.IsNaN(fx) ? 0 : amount * fx;

    internal void Write(BinaryWriter w)
    {
        w.Write(_orders.Count);
        foreach (var (order, facts) in _orders)
        {
            w.Write(order);
            w.Write(facts.Count);
            foreach (var f in facts)
            {
                w.Write(f.Position);
                w.Write(f.Ts);
                w.Write(f.Index);
                w.Write((byte)f.Status);
                w.Write(f.Total);
                w.Write(f.Commission);
                w.Write(f.Refunded);
                w.Write(f.Reversed);
                w.Write(f.Fx);
            }
        }
    }

    /// <summary>Reads the facts and replays every order (the rollups saved beside them already hold the lines).</summary>
    internal void Read(BinaryReader r)
    {
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            var order = r.ReadInt32();
            var count = r.ReadInt32();
            if (count <= 0 || count > 1 << 24)
            {
                throw new InvalidDataException($"an order with {count} status events");
            }
            var facts = new List<StatusFact>(count);
            for (var k = 0; k < count; k++)
            {
                facts.Add(new StatusFact(r.ReadInt32(), r.ReadInt64(), r.ReadInt32(), (FinalStatus)r.ReadByte(),
                    r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble()));
            }
            _orders[order] = facts;
            Replay(facts, null);
        }
    }
}
