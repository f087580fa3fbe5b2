using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Recommendations;

/// <summary>
/// The storefront's recommendation model, learned from the hub's own events and kept in memory:
/// <list type="bullet">
/// <item>bought together: products in the same delivered order (an order counts while its latest
/// final status — ENTREGADO, CANCELADO, REEMBOLSADO — is ENTREGADO; a later refund takes it back out);</item>
/// <item>viewed together: distinct products viewed in the same session;</item>
/// <item>for you: a person's last <see cref="ViewsPerPerson"/> views, each weighted by its age (half-life <see cref="ForYouHalfLife"/>);</item>
/// <item>popular: views plus three times delivered orders, per product;</item>
/// <item>stock: the latest <c>inventory_snapshot</c>'s quantity_available per product.</item>
/// </list>
/// Co-occurrences keep at most <see cref="NeighboursPerProduct"/> neighbours per product
/// (<see cref="NeighbourCounts"/>), so memory grows with products, open sessions, open orders and
/// recent visitors, not with events. The model is a cache of raw events: it is rebuilt from them at
/// start (<see cref="Start"/>) and fed every commit after that (<see cref="Follow"/>), so a new
/// product is recommendable as soon as its events are acknowledged. Person-keyed state (recent
/// views) lives only in <see cref="_people"/>, so <see cref="ForgetPerson"/> can remove a person.
/// All reads and writes take one lock; a query costs a few microseconds.
/// </summary>
public sealed partial class RecommendationModel
{
    public const int NeighboursPerProduct = 64;
    public const int ViewsPerPerson = 20;
    public const int ProductsPerSession = 20;
    public static readonly TimeSpan ForYouHalfLife = TimeSpan.FromDays(7);

    /// <summary>A session idle this long is closed (its pairs are counted as they happen; only its open state is dropped).</summary>
    private static readonly long SessionIdleMs = (long)TimeSpan.FromHours(2).TotalMilliseconds;

    /// <summary>Orders are followed this long after their last status (refunds in the demo come within three days).</summary>
    private static readonly long OrderHorizonMs = (long)TimeSpan.FromDays(30).TotalMilliseconds;

    /// <summary>Recent views older than this no longer shape "for you".</summary>
    private static readonly long PersonHorizonMs = (long)TimeSpan.FromDays(60).TotalMilliseconds;

    private const int PruneEvery = 1 << 16;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _productIndex = new(StringComparer.Ordinal);
    private readonly List<ProductEntry> _products = [];
    private readonly Dictionary<string, List<int>> _productsByStore = new(StringComparer.Ordinal);
    private readonly NeighbourCounts _bought = new(NeighboursPerProduct);
    private readonly NeighbourCounts _viewed = new(NeighboursPerProduct);
    private readonly Dictionary<string, SessionBasket> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OrderState> _orders = new(StringComparer.Ordinal);
    // Keyed by a 128-bit hash of "u:"/"a:" and the id rather than the id itself: at 10M events the
    // model follows hundreds of thousands of people, and a string key per person cost more than their views.
    private readonly PeopleViews _people = new();
    private readonly RecommendationEvent _event = new();

    // The tables looked up by an event's characters (RecommendationEvent keeps no strings).
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _productsBySpan;
    private readonly Dictionary<string, SessionBasket>.AlternateLookup<ReadOnlySpan<char>> _sessionsBySpan;
    private readonly Dictionary<string, OrderState>.AlternateLookup<ReadOnlySpan<char>> _ordersBySpan;
    private long _clockMs;
    private long _applied;
    private bool _pruning = true;

    public RecommendationModel()
    {
        _productsBySpan = _productIndex.GetAlternateLookup<ReadOnlySpan<char>>();
        _sessionsBySpan = _sessions.GetAlternateLookup<ReadOnlySpan<char>>();
        _ordersBySpan = _orders.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Events applied (of the types the model reads).</summary>
    public long EventsApplied
    {
        get
        {
            lock (_gate)
            {
                return _applied;
            }
        }
    }

    /// <summary>Applies one stored event (its JSON); false when it is of a type the model does not read.</summary>
    public bool Apply(ReadOnlySpan<byte> json)
    {
        lock (_gate)
        {
            return ApplyLocked(json);
        }
    }

    /// <summary>
    /// Applies one event from the facts the collector noted while writing it
    /// (<see cref="CollectedFacts.CompleteForRecommendations"/> set), or from its JSON when it has none.
    /// </summary>
    internal bool Apply(ReadOnlySpan<byte> json, in CollectedFacts facts, ReadOnlySpan<CollectedItem> items)
    {
        lock (_gate)
        {
            return facts.CompleteForRecommendations ? ApplyLocked(json, facts, items) : ApplyLocked(json);
        }
    }

    private bool ApplyLocked(ReadOnlySpan<byte> json, in CollectedFacts facts, ReadOnlySpan<CollectedItem> items)
    {
        if (!_event.Read(json, facts, items))
        {
            return false;
        }
        Apply(_event);
        return true;
    }

    private bool ApplyLocked(ReadOnlySpan<byte> json)
    {
        if (!_event.Read(json))
        {
            return false;
        }
        Apply(_event);
        return true;
    }

    private void Apply(RecommendationEvent e)
    {
        _applied++;
        _clockMs = Math.Max(_clockMs, e.TimestampMs);
        switch (e.Type)
        {
            case RecommendationEventType.ProductViewed:
                Viewed(e);
                break;
            case RecommendationEventType.AddToCart:
                if (!e.Product.IsEmpty)
                {
                    Product(e.Product, e.Store);
                }
                break;
            case RecommendationEventType.PurchaseCompleted:
                Purchased(e);
                break;
            case RecommendationEventType.OrderStatusChanged:
                StatusChanged(e);
                break;
            case RecommendationEventType.InventorySnapshot:
                if (!e.Product.IsEmpty && !double.IsNaN(e.QuantityAvailable))
                {
                    var entry = _products[Product(e.Product, e.Store)];
                    if (e.TimestampMs >= entry.StockAtMs)
                    {
                        entry.Available = e.QuantityAvailable;
                        entry.StockAtMs = e.TimestampMs;
                    }
                }
                break;
            default:
                break;
        }
        if (_pruning && _applied % PruneEvery == 0)
        {
            Prune();
        }
    }

    private void Viewed(RecommendationEvent e)
    {
        if (e.Product.IsEmpty)
        {
            return;
        }
        var p = Product(e.Product, e.Store);
        var entry = _products[p];
        entry.Name = Latest(entry.Name, e.Name);
        entry.Category = Latest(entry.Category, e.Category);
        entry.Views++;
        if (!e.Session.IsEmpty)
        {
            if (!_sessionsBySpan.TryGetValue(e.Session, out var session))
            {
                session = new SessionBasket();
                _sessions[e.Session.ToString()] = session;
                _viewed.AddBaskets(1);
            }
            session.LastMs = Math.Max(session.LastMs, e.TimestampMs);
            if (!session.Products.Contains(p) && session.Products.Count < ProductsPerSession)
            {
                foreach (var q in session.Products)
                {
                    _viewed.AddPair(p, q, 1);
                }
                _viewed.AddMarginal(p, 1);
                session.Products.Add(p);
            }
        }
        if (!e.User.IsEmpty)
        {
            _people.Add(UserKey(e.User), p, e.TimestampMs);
        }
        if (!e.Anonymous.IsEmpty)
        {
            _people.Add(AnonymousKey(e.Anonymous), p, e.TimestampMs);
        }
    }

    /// <summary>A product's name or category: the event's when it names one (a string made only when it changed), else the one kept.</summary>
    private static string? Latest(string? kept, ReadOnlySpan<char> named) =>
        named.IsEmpty || named.SequenceEqual(kept) ? kept : named.ToString();

    private void Purchased(RecommendationEvent e)
    {
        if (e.Order.IsEmpty || e.ItemCount == 0)
        {
            return;
        }
        var order = Order(e.Order);
        if (order.Products is not null)
        {
            return;
        }
        var products = new List<int>(e.ItemCount);
        for (var i = 0; i < e.ItemCount; i++)
        {
            var p = Product(e.Item(i), e.Store);
            if (!products.Contains(p))
            {
                products.Add(p);
            }
        }
        order.Products = [.. products];
        order.LastMs = Math.Max(order.LastMs, e.TimestampMs);
        Reconcile(order);
    }

    private void StatusChanged(RecommendationEvent e)
    {
        var delivered = e.Status.SequenceEqual("ENTREGADO");
        if (e.Order.IsEmpty || !(delivered || e.Status.SequenceEqual("CANCELADO") || e.Status.SequenceEqual("REEMBOLSADO")))
        {
            return;
        }
        var order = Order(e.Order);
        order.LastMs = Math.Max(order.LastMs, e.TimestampMs);
        if (e.TimestampMs >= order.FinalAtMs)
        {
            order.Delivered = delivered;
            order.FinalAtMs = e.TimestampMs;
            Reconcile(order);
        }
    }

    /// <summary>Counts an order's basket while its latest final status is ENTREGADO, and takes it back when that changes.</summary>
    private void Reconcile(OrderState order)
    {
        var counts = order.Products is not null && order.Delivered;
        if (counts == order.Counted)
        {
            return;
        }
        var delta = counts ? 1 : -1;
        var products = order.Products!;
        _bought.AddBaskets(delta);
        for (var i = 0; i < products.Length; i++)
        {
            _bought.AddMarginal(products[i], delta);
            _products[products[i]].Orders += delta;
            for (var j = i + 1; j < products.Length; j++)
            {
                _bought.AddPair(products[i], products[j], delta);
            }
        }
        order.Counted = counts;
    }

    private OrderState Order(ReadOnlySpan<char> orderId)
    {
        if (!_ordersBySpan.TryGetValue(orderId, out var order))
        {
            order = new OrderState();
            _orders[orderId.ToString()] = order;
        }
        return order;
    }

    private static PersonKey UserKey(ReadOnlySpan<char> userId) => KeyOf((byte)'u', userId);

    private static PersonKey AnonymousKey(ReadOnlySpan<char> anonymousId) => KeyOf((byte)'a', anonymousId);

    private static PersonKey KeyOf(byte kind, ReadOnlySpan<char> id)
    {
        var length = System.Text.Encoding.UTF8.GetMaxByteCount(id.Length) + 1;
        var rented = length > 512 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        var buffer = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        buffer[0] = kind;
        var written = System.Text.Encoding.UTF8.GetBytes(id, buffer[1..]);
        var hash = System.IO.Hashing.XxHash128.HashToUInt128(buffer[..(written + 1)]);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
        return new PersonKey((ulong)hash, (ulong)(hash >> 64));
    }

    private int Product(ReadOnlySpan<char> id, ReadOnlySpan<char> store)
    {
        if (!_productsBySpan.TryGetValue(id, out var index))
        {
            var text = id.ToString();
            index = _products.Count;
            _productIndex[text] = index;
            _products.Add(new ProductEntry(text));
        }
        var entry = _products[index];
        if (!store.IsEmpty && entry.StoreId is null)
        {
            var storeId = store.ToString();
            entry.StoreId = storeId;
            if (!_productsByStore.TryGetValue(storeId, out var list))
            {
                list = [];
                _productsByStore[storeId] = list;
            }
            list.Add(index);
        }
        return index;
    }

    /// <summary>
    /// Drops closed sessions, settled orders and visitors whose views are too old to matter. A table
    /// left half empty or worse gives its slots back: the history load (which does not prune while
    /// it reads) leaves them sized for every session and person of the horizon.
    /// </summary>
    private void Prune()
    {
        var now = _clockMs;
        PruneTable(_sessions, session => session.LastMs < now - SessionIdleMs);
        PruneTable(_orders, order => order.LastMs < now - OrderHorizonMs);
        _people.Prune(now - PersonHorizonMs);
    }

    private static void PruneTable<TKey, TValue>(Dictionary<TKey, TValue> table, Func<TValue, bool> stale)
        where TKey : notnull
    {
        foreach (var (key, value) in table)
        {
            if (stale(value))
            {
                table.Remove(key);
            }
        }
        // Half empty or worse: give the slots back. The history load (which does not prune while it
        // reads) leaves the tables sized for everyone of the horizon, and at 10M events the people
        // table alone kept about 900,000 empty slots of 40 bytes when this waited for three quarters.
        if (table.Capacity > 1024 && table.Count < table.Capacity / 2)
        {
            table.TrimExcess();
        }
    }

    /// <summary>
    /// Removes everything the model keeps about one person (their recent views), so "for you" no
    /// longer knows them. Co-occurrence counts are anonymous sums; a rebuild after the raw events
    /// are erased (<see cref="Start"/> on a new model) leaves no trace of them there either.
    /// </summary>
    public bool ForgetPerson(string? userId, string? anonymousId)
    {
        lock (_gate)
        {
            var removed = userId is not null && _people.Remove(UserKey(userId));
            removed |= anonymousId is not null && _people.Remove(AnonymousKey(anonymousId));
            return removed;
        }
    }

    /// <summary>Slots of the people table (for the tests of its trimming).</summary>
    internal int PeopleCapacity
    {
        get
        {
            lock (_gate)
            {
                return _people.Capacity;
            }
        }
    }

    /// <summary>Sizes of the model's tables and an estimate of their bytes, for the memory report.</summary>
    public RecommendationModelSize Size()
    {
        lock (_gate)
        {
            long bytes = _bought.Bytes() + _viewed.Bytes();
            bytes += _products.Count * 120L;
            foreach (var session in _sessions.Values)
            {
                bytes += 96 + (session.Products.Capacity * sizeof(int));
            }
            bytes += _orders.Count * 120L;
            bytes += _people.Bytes;
            return new RecommendationModelSize(_products.Count, _sessions.Count, _orders.Count, _people.Count, bytes);
        }
    }

    private sealed class ProductEntry(string id)
    {
        public string Id { get; } = id;
        public string? Name;
        public string? StoreId;
        public string? Category;
        public double Available = double.NaN;
        public long StockAtMs = long.MinValue;
        public double Views;
        public double Orders;

        public double Popularity => Views + (3 * Orders);

        public bool OutOfStock => Available <= 0;
    }

    private sealed class SessionBasket
    {
        public readonly List<int> Products = new(4);
        public long LastMs;
    }

    private sealed class OrderState
    {
        public int[]? Products;
        public bool Delivered;
        public bool Counted;
        public long FinalAtMs = long.MinValue;
        public long LastMs;
    }
}

/// <summary>How big the model is: its tables' rows and an estimate of their bytes.</summary>
public sealed record RecommendationModelSize(int Products, int OpenSessions, int OpenOrders, int People, long EstimatedBytes);
