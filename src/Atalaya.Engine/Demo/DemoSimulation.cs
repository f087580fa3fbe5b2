using System.Globalization;

namespace Atalaya.Engine.Demo;

/// <summary>
/// Simulates the marketplace one UTC day at a time. Each day opens the stores due that day,
/// charges subscriptions on the first of the month, then plays the day's sessions (see
/// <see cref="SimulateSession"/>); orders, payments and leads schedule their later server events
/// (statuses, refunds, lead payments) into a time-ordered queue that <see cref="Drain"/> empties up
/// to the end of each day, so the output is in time order while memory holds only what is still
/// in flight. Events at or after the cutoff (the end of the range, or now) are dropped.
/// </summary>
internal sealed partial class DemoSimulation : IDisposable
{
    private const int PoolCapacityPerCountry = 25_000;
    private const double ReturningShare = 0.5;

    // Documentation address ranges (RFC 5737): realistic-looking, never anyone's real address.
    private static readonly string[] IpPrefixes = ["203.0.113.", "198.51.100.", "192.0.2."];
    private static readonly double[] WebDeviceWeights = [0.36, 0.22, 0.32, 0.10];
    private static readonly double[] CartSizeWeights = [0.55, 0.30, 0.15];
    private static readonly double[] FoodQuantityWeights = [0, 0.55, 0.30, 0.15];
    private static readonly double[] GoodsQuantityWeights = [0, 0.85, 0.15];

    private readonly Random _rng;
    private readonly DemoWorld _world;
    private readonly FxRateWalk _fx;
    private readonly DemoEventWriter _writer;
    private readonly PriorityQueue<byte[], (long Ticks, long Sequence)> _queue = new();
    private readonly List<DemoUser>[] _pools;
    private readonly double[] _countryWeights;
    private readonly double[][] _utcHourWeights;
    private readonly DemoOptions _options;
    private readonly DateTime _rangeStart;
    private readonly DateTime _cutoff;
    private long _sequence;
    private long _sessionCount;
    private long _userCount;

    public DemoSimulation(DemoOptions options, DateTime rangeStart, DateTime cutoff)
    {
        _options = options;
        _rangeStart = rangeStart;
        _cutoff = cutoff;
        // Separate streams: the stores and products stay the same when the traffic settings change.
        _world = DemoWorld.Build(new Random(options.Seed), rangeStart, options.Days, options.Scale, options.Products);
        _rng = new Random(unchecked((options.Seed * 31) + 7));
        _fx = new FxRateWalk(_rng);
        _writer = new DemoEventWriter(_rng);
        _pools = [.. DemoData.Countries.Select(_ => new List<DemoUser>())];
        _countryWeights = [.. DemoData.Countries.Select(c => c.TrafficWeight)];
        _utcHourWeights = [.. DemoData.Countries.Select(c => Enumerable.Range(0, 24)
            .Select(h => DemoData.HourWeights[(h + c.UtcOffsetHours + 24) % 24]).ToArray())];
        SeedExistingUsers();
    }

    public void SimulateDay(int dayIndex)
    {
        var dayStart = _rangeStart.AddDays(dayIndex);
        if (dayIndex > 0)
        {
            _fx.NextDay(_rng);
        }
        OpenStores(dayStart);
        ChargeMonthlySubscriptions(dayStart);

        var weekday = DemoData.WeekdayFactors[(int)dayStart.DayOfWeek];
        var growth = _options.Days > 1 ? 0.9 + (0.2 * dayIndex / (_options.Days - 1)) : 1.0;
        var noise = 1.0 + (0.05 * Math.Clamp(_rng.Gaussian(), -3, 3));
        var sessions = (int)Math.Round(_options.SessionsPerDay * _options.Scale * weekday * growth * noise);
        for (var i = 0; i < sessions; i++)
        {
            SimulateSession(dayStart);
        }
    }

    /// <summary>The queued events before <paramref name="until"/>, in time order.</summary>
    public IEnumerable<byte[]> Drain(DateTime until)
    {
        while (_queue.TryPeek(out var json, out var key) && key.Ticks < until.Ticks)
        {
            _queue.Dequeue();
            yield return json;
        }
    }

    public void Dispose() => _writer.Dispose();

    /// <summary>
    /// One visit: a landing page (a store's own page for about a third), then for about six visitors in ten a store, products, perhaps a
    /// search, a cart, a checkout and an order, each step losing some of them. The rest bounce: the
    /// landing page is their only event.
    /// </summary>
    private void SimulateSession(DateTime dayStart)
    {
        var countryIndex = _rng.Weighted(_countryWeights);
        var country = DemoData.Countries[countryIndex];
        var start = dayStart.AddHours(_rng.Weighted(_utcHourWeights[countryIndex])).AddSeconds(_rng.Next(3600));
        var (user, returning) = PickUser(country);
        var source = _rng.Pick(user.Platform == "web" ? DemoData.WebSources : DemoData.AppSources);
        var visit = new DemoVisit(NextId("s-", ref _sessionCount, 8), user, source, SessionUserAgent(user, source),
            DemoPages.Referrer(user, source), start);

        // About a third of visits land straight on a store's page (a shared link, an ad, a search
        // result): those sessions are the store's own (a session takes its first event's
        // dimensions), so vendors see their traffic, bounces and time on site.
        DemoStore? store = null;
        if (_rng.Chance(0.35))
        {
            store = PickStore(visit, returning, country);
        }
        if (store is not null)
        {
            var landing = _writer.BeginClient("page_view", visit, DemoPages.Store(user, store));
            landing.WriteString("store_id", store.Id);
            Enqueue(visit.Time, _writer.End());
        }
        else
        {
            PageView(visit, DemoPages.Landing(user, source, _rng));
        }
        if (_rng.Chance(returning ? 0.28 : 0.47))
        {
            return;
        }

        if (store is null)
        {
            store = PickStore(visit, returning, country);
            if (store is null)
            {
                Advance(visit, 25, 3);
                PageView(visit, DemoPages.Home(user));
                return;
            }
            if (_rng.Chance(0.3))
            {
                Advance(visit, 20, 3);
                PageView(visit, DemoPages.Category(user, store.Category));
            }
        }

        Advance(visit, 20, 3);
        var json = _writer.BeginClient("store_visited", visit, DemoPages.Store(user, store));
        json.WriteString("store_id", store.Id);
        Enqueue(visit.Time, _writer.End());

        if (user.UserId is null && _rng.Chance(0.06))
        {
            SignUp(visit);
        }
        if (_rng.Chance(0.25))
        {
            Advance(visit, 15, 3);
            var query = store.PickProduct(_rng).SearchTerm;
            json = _writer.BeginClient("product_searched", visit, DemoPages.Search(user, query));
            json.WriteString("query", query);
            Enqueue(visit.Time, _writer.End());
        }

        var viewed = new List<DemoProduct>(5);
        var views = 1;
        while (views < 5 && _rng.Chance(0.5))
        {
            views++;
        }
        DemoProduct? last = null;
        for (var i = 0; i < views; i++)
        {
            Advance(visit, 35, 4);
            // Planted browsing paths draw only when asked for, so the default stream is unchanged.
            var product = _options.PlantedPairs && last is not null && _rng.Chance(0.6) ? store.ViewPartner(last) : store.PickProduct(_rng);
            last = product;
            json = _writer.BeginClient("product_viewed", visit, DemoPages.Product(user, store, product));
            json.WriteString("product_id", product.Id);
            json.WriteString("product_name", product.Name);
            DemoEventWriter.WriteDecimal(json, "product_price", product.Price);
            json.WriteString("product_category", product.Category);
            json.WriteString("store_id", store.Id);
            json.WriteString("store_name", store.Name);
            Enqueue(visit.Time, _writer.End());
            if (!viewed.Contains(product))
            {
                viewed.Add(product);
            }
        }

        if (user.UserId is not null && _rng.Chance(0.02))
        {
            CreateLead(visit);
        }
        if (!_rng.Chance(returning ? 0.38 : 0.24))
        {
            return;
        }

        var lines = new List<(DemoProduct Product, int Quantity)>(3);
        var wanted = Math.Min(viewed.Count, 1 + _rng.Weighted(CartSizeWeights));
        foreach (var product in viewed.Take(wanted))
        {
            var quantity = store.Category.Name is "restaurant" or "grocery" ? _rng.Weighted(FoodQuantityWeights) : _rng.Weighted(GoodsQuantityWeights);
            Advance(visit, 20, 2);
            json = _writer.BeginClient("add_to_cart", visit, DemoPages.Product(user, store, product));
            json.WriteString("product_id", product.Id);
            json.WriteNumber("quantity", quantity);
            DemoEventWriter.WriteDecimal(json, "price", product.Price);
            json.WriteString("store_id", store.Id);
            Enqueue(visit.Time, _writer.End());
            lines.Add((product, quantity));
        }
        if (_options.PlantedPairs && lines.Count > 0 && _rng.Chance(0.5))
        {
            AddBasketPartner(visit, store, lines);
        }
        if (!_rng.Chance(0.62))
        {
            return;
        }

        Checkout(visit, store, lines);
    }

    /// <summary>Planted pairs: the first cart line's basket partner goes into the cart too (one unit).</summary>
    private void AddBasketPartner(DemoVisit visit, DemoStore store, List<(DemoProduct Product, int Quantity)> lines)
    {
        var partner = store.BasketPartner(lines[0].Product);
        if (lines.Exists(l => l.Product == partner))
        {
            return;
        }
        Advance(visit, 20, 2);
        var json = _writer.BeginClient("add_to_cart", visit, DemoPages.Product(visit.User, store, partner));
        json.WriteString("product_id", partner.Id);
        json.WriteNumber("quantity", 1);
        DemoEventWriter.WriteDecimal(json, "price", partner.Price);
        json.WriteString("store_id", store.Id);
        Enqueue(visit.Time, _writer.End());
        lines.Add((partner, 1));
    }

    /// <summary>A returning shopper's favourite store half the time, else one of the country (near the shopper's hub).</summary>
    private DemoStore? PickStore(DemoVisit visit, bool returning, DemoCountry country) =>
        returning && visit.User.FavoriteStore is { } favorite && favorite.CreatedAt <= visit.Time && _rng.Chance(0.5)
            ? favorite
            : _world.PickStore(_rng, country, visit.User.Hub, visit.Time);

    private void PageView(DemoVisit visit, string pageUrl)
    {
        _writer.BeginClient("page_view", visit, pageUrl);
        Enqueue(visit.Time, _writer.End());
    }

    private void SignUp(DemoVisit visit)
    {
        var user = visit.User;
        Advance(visit, 40, 10);
        user.UserId = NextId("u-", ref _userCount, 7);
        _writer.BeginClient("user_signed_up", visit, DemoPages.SignUp(user));
        Enqueue(visit.Time, _writer.End());
        user.Loyalty = Math.Max(user.Loyalty, 0.35);
        AddToPool(user);
    }

    private void Advance(DemoVisit visit, double meanSeconds, double minSeconds) =>
        visit.Time += _rng.Wait(meanSeconds, minSeconds);

    private void Enqueue(DateTime at, byte[] json)
    {
        if (at < _cutoff)
        {
            _queue.Enqueue(json, (at.Ticks, _sequence++));
        }
    }

    /// <summary>A returning shopper from the pool (kept with the chance of their loyalty), else a new visitor.</summary>
    private (DemoUser User, bool Returning) PickUser(DemoCountry country)
    {
        var pool = _pools[DemoData.IndexOf(country)];
        if (pool.Count > 0 && _rng.Chance(ReturningShare))
        {
            for (var attempt = 0; attempt < 6; attempt++)
            {
                var candidate = pool[_rng.Next(pool.Count)];
                if (_rng.Chance(candidate.Loyalty))
                {
                    return (candidate, true);
                }
            }
        }
        var user = NewUser(country);
        if (_rng.Chance(0.4))
        {
            user.Loyalty = _rng.Between(0.1, 0.6);
            AddToPool(user);
        }
        return (user, false);
    }

    private DemoUser NewUser(DemoCountry country)
    {
        var platformDraw = _rng.NextDouble();
        var (platform, device, userAgent) = platformDraw < country.IosShare
            ? ("ios", "app", _rng.Pick(DemoData.IosAppUserAgents))
            : platformDraw < country.IosShare + country.AndroidShare
                ? ("android", "app", _rng.Pick(DemoData.AndroidAppUserAgents))
                : _rng.Weighted(WebDeviceWeights) switch
                {
                    0 => ("web", "desktop", _rng.Pick(DemoData.DesktopUserAgents)),
                    1 => ("web", "iphone", _rng.Pick(DemoData.IphoneUserAgents)),
                    2 => ("web", "android", _rng.Pick(DemoData.AndroidPhoneUserAgents)),
                    _ => ("web", "tablet", _rng.Pick(DemoData.TabletUserAgents)),
                };
        var ip = _rng.Pick(IpPrefixes) + _rng.Next(1, 255).ToString(CultureInfo.InvariantCulture);
        return new DemoUser(_writer.NewUuid(), country, _rng.Pick(country.Hubs), platform, device, userAgent, ip);
    }

    /// <summary>Shoppers who arrive from Facebook or Instagram on a phone often browse in the app's own browser.</summary>
    private string SessionUserAgent(DemoUser user, string source)
    {
        if (user.Device is not ("iphone" or "android") || source is not ("facebook" or "instagram") || !_rng.Chance(0.6))
        {
            return user.UserAgent;
        }
        return (source, user.Device) switch
        {
            ("facebook", "iphone") => DemoData.FacebookIphoneUserAgent,
            ("facebook", _) => DemoData.FacebookAndroidUserAgent,
            (_, "iphone") => DemoData.InstagramIphoneUserAgent,
            _ => DemoData.InstagramAndroidUserAgent,
        };
    }

    private void AddToPool(DemoUser user)
    {
        if (user.InPool)
        {
            return;
        }
        var pool = _pools[DemoData.IndexOf(user.Country)];
        if (pool.Count < PoolCapacityPerCountry * _options.Scale)
        {
            pool.Add(user);
        }
        else
        {
            var slot = _rng.Next(pool.Count);
            pool[slot].InPool = false;
            pool[slot] = user;
        }
        user.InPool = true;
    }

    /// <summary>Customers who signed up before the range, so the first days already have returning traffic.</summary>
    private void SeedExistingUsers()
    {
        var count = Math.Min(_options.SessionsPerDay * _options.Scale * 2, PoolCapacityPerCountry * _options.Scale);
        for (var i = 0; i < count; i++)
        {
            var user = NewUser(DemoData.Countries[_rng.Weighted(_countryWeights)]);
            user.UserId = NextId("u-", ref _userCount, 7);
            user.Loyalty = _rng.Between(0.15, 0.9);
            AddToPool(user);
        }
    }

    private static string NextId(string prefix, ref long counter, int digits) =>
        prefix + (++counter).ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
