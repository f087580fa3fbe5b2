using System.Globalization;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Access;

/// <summary>
/// Generates valid GET requests for the endpoints of the OpenAPI document: for each, the parameters
/// it declares, filled with values the stored data holds (and a few it does not). Filters lean
/// towards the dimensions the caller's token restricts, with values inside its lists about two
/// times in three and at least one value outside otherwise, so both answers and 403s are common.
/// Dates fall in and around the generated range. Deterministic for a seed.
/// </summary>
public sealed class ScopeRequestGenerator
{
    public static readonly string[] Zones = ["UTC", "America/Mexico_City", "Europe/Stockholm"];

    private static readonly string[][] FunnelSteps =
    [
        ["page_view", "product_viewed", "add_to_cart", "checkout_started", "purchase_completed"],
        ["store_visited", "product_viewed", "add_to_cart"],
        ["product_viewed", "purchase_completed"],
        ["page_view", "coupon_applied"],
    ];

    private readonly Random _random;
    private readonly AccessHubFixture _hub;
    private readonly Dictionary<string, string[]> _values;
    private readonly DateOnly _today;

    /// <param name="time">The hub's clock: relative dates (<c>30d</c>) and "today" mean the same day to the generator and to the hub.</param>
    public ScopeRequestGenerator(int seed, AccessHubFixture hub, TimeProvider time)
    {
        _today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        _random = new Random(seed);
        _hub = hub;
        _values = Dimensions.Names.ToDictionary(name => name, name => hub.Reference.Events
            .Select(e => e.Dimensions.Get(name)).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Append("zz-" + name).ToArray(), StringComparer.Ordinal);
    }

    public ScopeRequest Next(Caller caller, string path, IReadOnlyCollection<string> declared)
    {
        var p = new List<KeyValuePair<string, string>>();
        void Add(string name, string value) => p.Add(new(name, value));
        var scope = caller.Scope;
        switch (path)
        {
            case "/api/kpi/query":
                Add("metric", string.Join(',', Metrics(_random.Next(10) == 0 ? KpiFormulas.Ids.Count : _random.Next(1, 4))));
                var aggregate = Pick("daily", "daily", "hourly", "weekly", "monthly");
                Range(p, aggregate == "hourly" ? 2 : 8);
                Add("aggregate", aggregate);
                Add("tz", Pick(Zones));
                if (_random.Next(3) > 0)
                {
                    Add("group_by", string.Join(',', Subset(Dimensions.Names, _random.Next(1, 3))));
                }
                Add("limit", "100000");
                break;
            case "/api/kpi/summary" or "/api/kpi/events":
                if (_random.Next(5) > 0)
                {
                    Add("metric", string.Join(',', Metrics(_random.Next(1, 5))));
                }
                Add("tz", Pick(Zones));
                break;
            case "/api/kpi/timeseries":
                Add("metric", Metrics(1)[0]);
                Add("hours", _random.Next(1, 49).ToString(CultureInfo.InvariantCulture));
                Add("tz", Pick(Zones));
                break;
            case "/api/kpi/benchmark":
                Add("metric", Metrics(1)[0]);
                if (scope?.Role != "vendor" || _random.Next(3) > 0)
                {
                    Add("store_id", BenchmarkStore(scope));
                }
                Range(p, 12);
                Add("tz", Pick(Zones));
                return new ScopeRequest(caller, path, p);
            case "/api/analysis/funnel":
                Add("steps", string.Join(',', Pick(FunnelSteps)));
                Add("window", Pick("60", "3600", "86400", "2592000"));
                Range(p, 8);
                Add("tz", Pick(Zones));
                break;
            case "/api/analysis/retention":
                Add("period", Pick("month", "week"));
                if (_random.Next(2) == 0)
                {
                    Range(p, 12);
                }
                Add("tz", Pick(Zones));
                break;
            case "/api/analysis/top-products":
                Add("order_by", Pick("revenue", "units", "orders", "views"));
                Add("limit", Pick("5", "20", "1000"));
                Range(p, 8);
                Add("tz", Pick(Zones));
                break;
            case "/api/audit":
                Add("limit", Pick("1", "10", "100"));
                return new ScopeRequest(caller, path, p);
            case "/api/runs":
                Add("job", Pick("daily_batch", "kpi_refresh", "backfill"));
                Add("status", Pick("success", "failed"));
                Add("limit", Pick("1", "10", "100"));
                return new ScopeRequest(caller, path, p);
            case "/api/jobs":
            case "/api/slo":
                return new ScopeRequest(caller, path, p);
            case "/api/quality":
                if (_random.Next(2) == 0)
                {
                    Add("status", Pick("fail", "warn,fail", "ok"));
                }
                if (_random.Next(2) == 0)
                {
                    Add("check", Pick("freshness", "schema_drift,null_rate"));
                }
                return new ScopeRequest(caller, path, p);
            default:
                break;
        }
        Filters(p, scope, declared);
        return new ScopeRequest(caller, path, p);
    }

    /// <summary>None, one or two filters on dimensions the endpoint declares, leaning to the ones the token restricts.</summary>
    private void Filters(List<KeyValuePair<string, string>> p, TokenScope? scope, IReadOnlyCollection<string> declared)
    {
        var dimensions = Dimensions.Names.Where(declared.Contains).ToList();
        var restricted = dimensions.Where(d => scope?.Restricted(d) is not null).ToList();
        var count = Pick(0, 0, 1, 1, 1, 2);
        var chosen = new List<string>();
        for (var i = 0; i < count && dimensions.Count > 0; i++)
        {
            var pool = restricted.Count > 0 && _random.Next(2) == 0 ? restricted : dimensions;
            var dimension = Pick(pool.ToArray());
            if (!chosen.Contains(dimension))
            {
                chosen.Add(dimension);
            }
        }
        foreach (var dimension in chosen)
        {
            p.Add(new(dimension, string.Join(',', FilterValues(dimension, scope?.Restricted(dimension)))));
        }
    }

    private List<string> FilterValues(string dimension, string[]? allowed)
    {
        if (allowed is not null && _random.Next(3) > 0)
        {
            return Subset(allowed, _random.Next(1, allowed.Length + 1));
        }
        var values = Subset(_values[dimension], Pick(1, 1, 2));
        if (allowed is not null && values.All(v => allowed.Contains(v, StringComparer.Ordinal)))
        {
            values.Add(_values[dimension].First(v => !allowed.Contains(v, StringComparer.Ordinal)));
        }
        return values;
    }

    /// <summary>A store to benchmark: usually one the caller may see, sometimes any store.</summary>
    private string BenchmarkStore(TokenScope? scope)
    {
        var stores = _hub.Stores.Keys.Order(StringComparer.Ordinal).ToArray();
        var visible = scope is null ? stores : stores.Where(s => scope.SeesStore(s, _hub.Stores[s])).ToArray();
        return visible.Length > 0 && _random.Next(3) > 0 ? Pick(visible) : Pick(stores);
    }

    /// <summary>start_date and end_date: up to <paramref name="maxDays"/> days in or around the generated range.</summary>
    private void Range(List<KeyValuePair<string, string>> p, int maxDays)
    {
        var start = _today.AddDays(-_random.Next(0, 14));
        var end = start.AddDays(_random.Next(0, maxDays));
        p.Add(new("start_date", start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
        p.Add(new("end_date", end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
    }

    private List<string> Metrics(int count) => Subset(KpiFormulas.Ids, count);

    private List<string> Subset(IReadOnlyList<string> items, int count) =>
        [.. items.OrderBy(_ => _random.Next()).Take(count)];

    private T Pick<T>(params T[] items) => items[_random.Next(items.Length)];
}
