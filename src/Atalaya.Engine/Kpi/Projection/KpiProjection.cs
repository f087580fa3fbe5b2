using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// The KPI engine's in-memory state: a columnar projection of every stored event
/// (dictionary-encoded dimensions, primitive arrays in chunks with time zone maps) plus the tables
/// that make KPIs exact whatever the arrival order — sessions (first event, span, count, steps),
/// the first purchase of each order, the order ledger of final statuses, the stores' dimension
/// rows, order items and product names. It is fed each event once it is durable, in storage
/// order: its stored form (<see cref="Apply(ReadOnlySpan{byte}, long)"/>), or on the commit path
/// the facts the collector noted while writing it (the same facts, not read again); a late event can change which purchase counts
/// for an order, a session's first event, or (through store_created) an event's dimensions, and
/// the tables are updated in place so every query sees the same state the raw log implies.
///
/// Thread safety: one writer (the event log's commit) and many readers (queries), through
/// <see cref="Read"/> and <see cref="Write"/>.
/// </summary>
public sealed partial class KpiProjection
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly List<EventChunk> _chunks = [];
    private readonly StoredEventReader _reader;
    private readonly EventFacts _facts = new();

    private GrowableArray<SessionRow> _sessions = new(new SessionRow { FirstEvent = -1 });
    private GrowableArray<int> _orderFirst = new(-1);
    private GrowableArray<StoreRow> _stores = new(default);
    /// <summary>Latest viewed name per (product, store): the same product id may be sold by several stores under different names.</summary>
    private readonly Dictionary<long, ProductName> _productNames = new(PackedKeyComparer.Instance);
    private readonly ItemTable _items = new();
    private long _version;
    private long _count;

    public KpiProjection()
    {
        _reader = new StoredEventReader(Pools);
    }

    internal ProjectionPools Pools { get; } = new();

    internal ComboTable Combos { get; } = new();

    internal KindIndex Kinds { get; } = new();

    /// <summary>Additive facts per UTC hour × combination, kept in step with the tables below.</summary>
    internal HourRollup Rollup { get; } = new();

    /// <summary>Final status events per order, replayed as a ledger: what each one adds to the money KPIs.</summary>
    internal OrderLedger Ledger { get; } = new();

    /// <summary>Each user's first counted purchase and the counted purchases per hour, for customer KPIs over everything.</summary>
    internal CustomerHistory Customers { get; } = new();

    /// <summary>The checkout and purchase times of sessions whose checkout is not (yet) completed.</summary>
    internal CheckoutTimes Checkouts { get; } = new();

    /// <summary>(hour, user) runs of catalog events, for distinct visitors over everything.</summary>
    internal VisitLog Visits { get; } = new();

    /// <summary>Events in the projection.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Bumped on every applied batch: a cheap "did anything change" for live views.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>The highest storage sequence number applied.</summary>
    public long LastSeq { get; private set; }

    public IDisposable Read()
    {
        _lock.EnterReadLock();
        return new Release(_lock, write: false);
    }

    public IDisposable Write()
    {
        _lock.EnterWriteLock();
        return new Release(_lock, write: true);
    }

    /// <summary>Adds one stored event (its normalized JSON) with its storage sequence number. Call under <see cref="Write"/>.</summary>
    public void Apply(ReadOnlySpan<byte> storedJson, long seq)
    {
        _reader.Read(storedJson, _facts);
        Add(_facts);
        LastSeq = seq;
    }

    /// <summary>
    /// Adds one stored event from the facts the collector noted while writing it, reading the
    /// stored JSON only when they are incomplete. Call under <see cref="Write"/>.
    /// </summary>
    internal void Apply(ReadOnlySpan<byte> storedJson, in CollectedFacts collected, ReadOnlySpan<CollectedItem> items, string sourceSystem, long seq)
    {
        if (collected.Complete)
        {
            _reader.Read(storedJson, collected, items, sourceSystem, _facts);
        }
        else
        {
            _reader.Read(storedJson, _facts);
        }
        Add(_facts);
        LastSeq = seq;
    }

    /// <summary>Marks the end of a batch of applied events for readers waiting on changes.</summary>
    public void Published() => Interlocked.Increment(ref _version);

    private void Add(EventFacts f)
    {
        if (_chunks.Count == 0 || _chunks[^1].Count == EventChunk.Size)
        {
            _chunks.Add(new EventChunk());
        }
        var chunk = _chunks[^1];
        var i = chunk.Count;
        var index = (_chunks.Count - 1) * EventChunk.Size + i;

        var flags = f.Custom ? EventFlags.Custom : EventFlags.None;
        double amount = 0;
        var aux = 0;
        switch (f.Kind)
        {
            case EventKind.PurchaseCompleted:
                amount = f.Total * f.Fx;
                foreach (var item in f.Items)
                {
                    aux += item.Quantity;
                    _items.Add(index, item.Product, item.Quantity, item.Quantity * item.Price * f.Fx);
                }
                break;
            case EventKind.PaymentSucceeded or EventKind.PaymentFailed or EventKind.SubscriptionCharged:
                amount = f.Amount * f.Fx;
                break;
            case EventKind.OrderStatusChanged when f.HasSnapshot && f.Status != FinalStatus.None:
                amount = f.SnapshotTotal * f.Fx;
                aux = (int)f.Status;
                break;
            case EventKind.ProductViewed or EventKind.AddToCart:
                aux = f.Product;
                break;
            case EventKind.InventorySnapshot:
                // The kind's columns: the quantity as the amount, the product as the aux.
                amount = f.Quantity;
                aux = f.Product;
                break;
        }
        if (f.NoFx && f.Kind is EventKind.PurchaseCompleted or EventKind.PaymentSucceeded or EventKind.PaymentFailed
            or EventKind.SubscriptionCharged or EventKind.OrderStatusChanged)
        {
            flags |= EventFlags.NoAmount;
            amount = 0;
        }

        if (f.Kind == EventKind.StoreCreated && f.Store != 0 && !f.Custom)
        {
            SetStore(f.Store, new StoreRow(true, f.StoreCountry, f.StoreHub, f.StoreZone, f.StoreCategory, 0));
        }

        chunk.Ts[i] = f.TimestampMs;
        chunk.SetType(i, f.Type);
        chunk.Kind[i] = f.Custom ? EventKind.Other : f.Kind;
        chunk.Flags[i] = flags;
        var store = f.Store != 0 ? _stores.Get(f.Store) : default;
        var combo = store.Known
            ? new DimensionCombo(store.Country, store.Hub, store.Zone, store.Category, f.Source, f.Platform, f.AppId, f.Store, f.SourceSystem, f.Priority)
            : new DimensionCombo(f.Country, f.Hub, f.Zone, f.Category, f.Source, f.Platform, f.AppId, f.Store, f.SourceSystem, f.Priority);
        var comboId = Combos.Intern(combo);
        chunk.Combo[i] = comboId;
        if (!f.Custom)
        {
            chunk.Combos.Add(comboId);
        }
        if (f.Store != 0)
        {
            _stores.At(f.Store).Events++;
        }
        chunk.User[i] = f.User;
        chunk.Aux[i] = aux;
        chunk.Count++;
        chunk.MinTs = Math.Min(chunk.MinTs, f.TimestampMs);
        chunk.MaxTs = Math.Max(chunk.MaxTs, f.TimestampMs);
        Interlocked.Increment(ref _count);

        if (f.Custom)
        {
            return;
        }
        Rollup.Add(f.Kind, f.TimestampMs, comboId, amount);
        if (f.User != 0)
        {
            Visits.Add(f.TimestampMs, f.User, combo.Country);
        }
        if (KindIndex.IsRich(f.Kind))
        {
            // The kind's own columns carry the facts; the chunk keeps the entry's position.
            chunk.Aux[i] = Kinds.Add(f.Kind, index, f.TimestampMs, comboId, f.User, amount, aux);
        }
        else
        {
            Kinds.Add(f.Kind, index, f.TimestampMs);
        }
        if (f.Session != 0)
        {
            AddToSession(f.Session, index, f.TimestampMs, f.Kind, comboId);
        }
        if (f.Kind == EventKind.PurchaseCompleted && f.Order != 0)
        {
            CountFirst(ref _orderFirst.At(f.Order), index, f.TimestampMs);
        }
        else if (f.Kind == EventKind.OrderStatusChanged && f.HasSnapshot && f.Status != FinalStatus.None && f.Order != 0)
        {
            var fact = new StatusFact(chunk.Aux[i], f.TimestampMs, index, f.Status, f.SnapshotTotal, f.Commission, f.Refunded, f.Reversed,
                f.NoFx ? double.NaN : f.Fx);
            Ledger.Add(f.Order, fact, LedgerChanged);
        }
        else if (f.Kind == EventKind.ProductViewed && f.Product != 0 && f.ProductName is not null)
        {
            var key = ProductKey(f.Product, f.Store);
            if (!_productNames.TryGetValue(key, out var name) || f.TimestampMs >= name.TimestampMs)
            {
                _productNames[key] = new ProductName(f.ProductName, f.TimestampMs);
            }
        }
    }

    /// <summary>Moves the "counted" mark to <paramref name="index"/> when it is earlier than the current first (ties: the first stored).</summary>
    private void CountFirst(ref int first, int index, long ts)
    {
        if (first >= 0 && Ts(first) <= ts)
        {
            return;
        }
        if (first >= 0)
        {
            SetCounted(first, false);
        }
        SetCounted(index, true);
        first = index;
    }

    private void SetCounted(int index, bool counted)
    {
        var chunk = Chunk(index);
        var i = index & (EventChunk.Size - 1);
        chunk.Flags[i] = counted ? chunk.Flags[i] | EventFlags.Counted : chunk.Flags[i] & ~EventFlags.Counted;
        var kind = Kinds[chunk.Kind[i]];
        var k = chunk.Aux[i];
        kind.SetCounted(k, counted);
        if (chunk.Kind[i] == EventKind.PurchaseCompleted)
        {
            Customers.Counted(kind, k, counted);
        }
        Rollup.Counted(chunk.Kind[i], kind.Ts[k], kind.Combo[k], kind.Amount[k], kind.Aux[k], counted);
    }

    /// <summary>A status event's ledger line changed (a new event, or a replay after a late one): the rollup and the counted marks follow.</summary>
    private void LedgerChanged(int position, LedgerEntry before, LedgerEntry after)
    {
        var kind = Kinds[EventKind.OrderStatusChanged];
        var index = kind.Events[position];
        var chunk = Chunk(index);
        var i = index & (EventChunk.Size - 1);
        var counted = after.Role != LedgerRole.None;
        chunk.Flags[i] = counted ? chunk.Flags[i] | EventFlags.Counted : chunk.Flags[i] & ~EventFlags.Counted;
        kind.SetCounted(position, counted);
        Rollup.Ledger(kind.Ts[position], kind.Combo[position], before, -1);
        Rollup.Ledger(kind.Ts[position], kind.Combo[position], after, 1);
    }

    private void AddToSession(int session, int index, long ts, EventKind kind, int combo)
    {
        ref var row = ref _sessions.At(session);
        var before = row;
        if (row.FirstEvent < 0 || ts < row.FirstTs)
        {
            row.FirstEvent = index;
            row.FirstTs = ts;
            row.FirstCombo = combo;
            WidenSessionBlock(session, ts);
        }
        if (row.Events == 0 || ts > row.LastTs)
        {
            row.LastTs = ts;
        }
        row.Events++;
        row.Flags |= kind switch
        {
            EventKind.ProductViewed => SessionFlags.ProductViewed,
            EventKind.AddToCart => SessionFlags.AddToCart,
            EventKind.CheckoutStarted => SessionFlags.CheckoutStarted,
            EventKind.PurchaseCompleted => SessionFlags.Purchase,
            _ => SessionFlags.None,
        };
        if (kind is EventKind.CheckoutStarted or EventKind.PurchaseCompleted)
        {
            Checkouts.Add(session, kind, ts, ref row.Flags);
        }
        Rollup.Session(before, row);
    }

    /// <summary>
    /// Zone maps over blocks of session ids (ids come in first-seen order, so roughly in time): each
    /// block's range of first-event times, only ever widened, lets a range query skip whole blocks.
    /// </summary>
    private GrowableArray<long> _sessionBlockMin = new(long.MaxValue);
    private GrowableArray<long> _sessionBlockMax = new(long.MinValue);

    internal const int SessionBlockShift = 12;

    private void WidenSessionBlock(int session, long ts)
    {
        ref var min = ref _sessionBlockMin.At(session >> SessionBlockShift);
        ref var max = ref _sessionBlockMax.At(session >> SessionBlockShift);
        min = Math.Min(min, ts);
        max = Math.Max(max, ts);
    }

    /// <summary>Whether the block of session ids starting at <paramref name="firstSession"/> may hold a session starting in [from, to).</summary>
    internal bool SessionBlockOverlaps(int firstSession, long from, long to)
    {
        var block = firstSession >> SessionBlockShift;
        return _sessionBlockMax.Get(block) >= from && _sessionBlockMin.Get(block) < to;
    }

    /// <summary>A store's dimension row changed: events already stored for it take the new dimensions.</summary>
    private void SetStore(int store, StoreRow row)
    {
        ref var current = ref _stores.At(store);
        var events = current.Events;
        current = row with { Events = events };
        if (events == 0)
        {
            return;
        }
        var moved = new Dictionary<int, int>();
        for (var id = 0; id < Combos.Count; id++)
        {
            var c = Combos[id];
            if (c.Store == store)
            {
                moved[id] = Combos.Intern(c with { Country = row.Country, Hub = row.Hub, Zone = row.Zone, Category = row.Category });
            }
        }
        Kinds.Remap(moved);
        Rollup.Remap(moved);
        var countryChanged = moved.Any(m => Combos[m.Key].Country != Combos[m.Value].Country);
        var sessions = _sessions.Raw;
        for (var s = 0; s < sessions.Length; s++)
        {
            if (sessions[s].FirstEvent >= 0 && moved.TryGetValue(sessions[s].FirstCombo, out var to))
            {
                sessions[s].FirstCombo = to;
            }
        }
        foreach (var chunk in _chunks)
        {
            var combos = chunk.Combo;
            var touched = false;
            for (var i = 0; i < chunk.Count; i++)
            {
                if (moved.TryGetValue(combos[i], out var to))
                {
                    combos[i] = to;
                    touched = true;
                }
            }
            if (touched)
            {
                chunk.Combos.Clear();
                for (var i = 0; i < chunk.Count; i++)
                {
                    if ((chunk.Flags[i] & EventFlags.Custom) == 0)
                    {
                        chunk.Combos.Add(combos[i]);
                    }
                }
            }
        }
        if (countryChanged)
        {
            RebuildVisits();
        }
    }

    /// <summary>
    /// The visit log again from every event, in storage order as it was built: events already
    /// stored moved to another country. As rare as a store_created arriving after its store's
    /// events, and no dearer than the remapping of every event just done.
    /// </summary>
    private void RebuildVisits()
    {
        Visits.Clear();
        foreach (var chunk in _chunks)
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                if ((chunk.Flags[i] & EventFlags.Custom) == 0 && chunk.User[i] != 0)
                {
                    Visits.Add(chunk.Ts[i], chunk.User[i], Combos[chunk.Combo[i]].Country);
                }
            }
        }
    }

    internal static long ProductKey(int product, int store) => ((long)product << 32) | (uint)store;

    internal EventChunk Chunk(int index) => _chunks[index >> 16];

    internal long Ts(int index) => _chunks[index >> 16].Ts[index & (EventChunk.Size - 1)];

    private sealed class Release(ReaderWriterLockSlim rw, bool write) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done)
            {
                return;
            }
            _done = true;
            if (write)
            {
                rw.ExitWriteLock();
            }
            else
            {
                rw.ExitReadLock();
            }
        }
    }
}

/// <summary>A store's dimension row as the projection knows it, and how many events name the store.</summary>
internal record struct StoreRow(bool Known, int Country, int Hub, int Zone, int Category, int Events);

/// <summary>The latest name a product was viewed under.</summary>
internal readonly record struct ProductName(string? Name, long TimestampMs);
