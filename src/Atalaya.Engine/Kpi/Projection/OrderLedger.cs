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
/// Memory: the facts of every order are in one array, each order's chained in time order from its
/// head (orders are dense ids; most have one or two facts), not a list per order: at 10M events a
/// list and an array per order cost about twice the facts themselves.
///
/// Arrival order does not matter: an event that arrives late replays its order, and every line
/// that changed is handed to the caller to move in the rollups. Status events of orders without a
/// purchase are kept and counted like the others (the consistency check reports them).
/// </summary>
internal sealed class OrderLedger
{
    /// <summary>Per order id, its first fact in time order (-1: none).</summary>
    private GrowableArray<int> _head = new(-1);
    /// <summary>Every order's facts, in arrival order; <see cref="_next"/> chains each order's in time order.</summary>
    private StatusFact[] _facts = new StatusFact[256];
    /// <summary>Per fact, the order's next fact in time order (-1: the last).</summary>
    private int[] _next = new int[256];
    /// <summary>Per fact, its line (what it is worth): kept per fact, not per order_status_changed entry, as most entries are not final statuses.</summary>
    private LedgerEntry[] _lines = new LedgerEntry[256];
    private int _factCount;
    /// <summary>Per order_status_changed entry (its position), its fact (-1: not a final status with a snapshot).</summary>
    private GrowableArray<int> _factAt = new(-1);

    /// <summary>Orders with at least one final status event.</summary>
    public int OrderCount { get; private set; }

    /// <summary>Final status events kept.</summary>
    public int FactCount => _factCount;

    /// <summary>The line of the status entry at <paramref name="position"/> among the order_status_changed entries.</summary>
    public LedgerEntry EntryAt(int position) => _factAt.Get(position) is >= 0 and var k ? _lines[k] : default;

    /// <summary>The order's latest final status (by time, ties: last stored), or None when it has none.</summary>
    public FinalStatus LatestStatus(int order)
    {
        var latest = FinalStatus.None;
        foreach (var fact in FactsOf(order))
        {
            latest = fact.Status;
        }
        return latest;
    }

    /// <summary>The orders with final statuses, in id order (for the consistency check and analyses).</summary>
    public IEnumerable<int> Orders
    {
        get
        {
            for (var order = 1; order < _head.Length; order++)
            {
                if (_head.Get(order) >= 0)
                {
                    yield return order;
                }
            }
        }
    }

    /// <summary>The order's final status facts in time order (ties: first stored).</summary>
    public FactChain FactsOf(int order) => new(_facts, _next, _head.Get(order));

    /// <summary>
    /// Adds a final status event of <paramref name="order"/> and replays the order; <paramref name="changed"/>
    /// gets (position, old line, new line) for each entry whose line changed.
    /// </summary>
    public void Add(int order, StatusFact fact, Action<int, LedgerEntry, LedgerEntry> changed)
    {
        if (_factCount == _facts.Length)
        {
            var size = _factCount + Math.Max(256, _factCount / 2);
            Array.Resize(ref _facts, size);
            Array.Resize(ref _next, size);
            Array.Resize(ref _lines, size);
        }
        var k = _factCount++;
        _facts[k] = fact;
        _lines[k] = default;
        _factAt.At(fact.Position) = k;
        ref var head = ref _head.At(order);
        if (head < 0)
        {
            OrderCount++;
        }
        // After every fact that is not later (by time, then storage): the place the list insertion had.
        var previous = -1;
        var at = head;
        while (at >= 0 && !(_facts[at].Ts > fact.Ts || (_facts[at].Ts == fact.Ts && _facts[at].Index > fact.Index)))
        {
            previous = at;
            at = _next[at];
        }
        _next[k] = at;
        if (previous < 0)
        {
            head = k;
        }
        else
        {
            _next[previous] = k;
        }
        Replay(order, changed);
    }

    private void Replay(int order, Action<int, LedgerEntry, LedgerEntry>? changed)
    {
        bool delivered = false, cancelled = false;
        double deliveredTotal = 0, deliveredCommission = 0, refunded = 0, reversed = 0;
        for (var k = _head.Get(order); k >= 0; k = _next[k])
        {
            var f = _facts[k];
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
            ref var current = ref _lines[k];
            if (current != entry)
            {
                var old = current;
                current = entry;
                changed?.Invoke(f.Position, old, entry);
            }
        }
    }

    private static double Reported(double amount, double fx) => double.IsNaN(fx) ? 0 : amount * fx;

    /// <summary>The facts as three raw arrays (facts, chain, heads): read back without a list or an allocation per order.</summary>
    internal void Write(BinaryWriter w)
    {
        w.Write(OrderCount);
        ProjectionSnapshot.WriteArray<StatusFact>(w, _facts.AsSpan(0, _factCount));
        ProjectionSnapshot.WriteArray<int>(w, _next.AsSpan(0, _factCount));
        ProjectionSnapshot.WriteArray<int>(w, _head.Raw);
    }

    /// <summary>Reads the facts and replays every order (the rollups saved beside them already hold the lines).</summary>
    internal void Read(BinaryReader r)
    {
        var orders = r.ReadInt32();
        _facts = ProjectionSnapshot.ReadArray<StatusFact>(r);
        _next = ProjectionSnapshot.ReadArray<int>(r);
        _head.Raw = ProjectionSnapshot.ReadArray<int>(r);
        _factCount = _facts.Length;
        if (_next.Length != _factCount)
        {
            throw new InvalidDataException("an order ledger of the wrong size");
        }
        // Every chain must stay inside the facts and end, and the chains hold as many facts as were
        // written: a damaged file must not loop or read past the arrays.
        var seen = 0;
        for (var order = 0; order < _head.Length; order++)
        {
            for (var at = _head.Raw[order]; at >= 0; at = _next[at])
            {
                if (at >= _factCount || ++seen > _factCount)
                {
                    throw new InvalidDataException("an order ledger with a broken chain");
                }
            }
        }
        OrderCount = orders;
        if (seen != _factCount || OrderCount != _head.Raw.Count(h => h >= 0))
        {
            throw new InvalidDataException("an order ledger with facts of no order");
        }
        _lines = new LedgerEntry[_factCount];
        // Sized to the highest position once, not grown by doubling from empty.
        var positions = _factCount == 0 ? 0 : Math.Max(0, _facts.Max(f => f.Position)) + 1;
        if (positions > 1 << 30)
        {
            throw new InvalidDataException("an order ledger fact at an impossible position");
        }
        var factAt = new int[positions];
        Array.Fill(factAt, -1);
        for (var k = 0; k < _factCount; k++)
        {
            if (_facts[k].Position < 0)
            {
                throw new InvalidDataException("an order ledger fact at a negative position");
            }
            factAt[_facts[k].Position] = k;
        }
        _factAt.Raw = factAt;
        for (var order = 1; order < _head.Length; order++)
        {
            if (_head.Raw[order] >= 0)
            {
                Replay(order, null);
            }
        }
    }

    /// <summary>One order's facts in time order, for <c>foreach</c> without an allocation.</summary>
    internal struct FactChain(StatusFact[] facts, int[] next, int head)
    {
        private int _at = -1;
        private bool _started;

        public readonly FactChain GetEnumerator() => this;

        public readonly StatusFact Current => facts[_at];

        public bool MoveNext()
        {
            _at = _started ? next[_at] : head;
            _started = true;
            return _at >= 0;
        }
    }
}
