using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// <c>/api/kpi/summary</c> and <c>/api/kpi/timeseries</c> against the reference, on events placed
/// relative to the current time (minutes ago, yesterday, within and beyond the last seven days).
/// The summary's <c>as_of</c> is the "now" the reference uses; a timeseries is checked against
/// the reference at the instants just before and just after the call (an hour may turn between).
/// </summary>
public sealed class LiveKpiTests : IAsyncLifetime
{
    private static readonly string[] Zones = ["UTC", KpiDatasets.Santiago];

    private KpiHub _hub = null!;

    public async Task InitializeAsync()
    {
        _hub = await KpiHub.StartEmptyAsync();
        var now = DateTimeOffset.UtcNow.AddSeconds(-1);
        var b = new EventBuilder("live");
        b.StoreCreated(EventBuilder.At(now.AddDays(-40)), "st-1", "MX", "cdmx-norte");
        b.StoreCreated(EventBuilder.At(now.AddDays(-40)), "st-2", "CO", "bogota-centro");
        TimeSpan[] agos =
        [
            TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(50), TimeSpan.FromHours(3), TimeSpan.FromHours(7), TimeSpan.FromHours(26),
            TimeSpan.FromHours(31), TimeSpan.FromDays(2), TimeSpan.FromDays(4.3), TimeSpan.FromDays(6.2), TimeSpan.FromDays(7.5), TimeSpan.FromDays(9), TimeSpan.FromDays(33),
        ];
        for (var i = 0; i < agos.Length; i++)
        {
            var at = now - agos[i];
            string T(int seconds) => EventBuilder.At(at.AddSeconds(-seconds));
            var (store, place) = i % 3 == 2 ? ("st-2", Place.Colombia) : ("st-1", Place.Mexico);
            var user = $"u{i % 5}";
            var session = $"s{i}";
            b.PageView(T(300), user, session, place);
            b.ProductView(T(240), user, session, store, "p-1", place: place);
            if (i % 4 != 3)
            {
                b.AddToCart(T(200), user, session, store, place: place);
                b.CheckoutStarted(T(150), user, session, store, place);
            }
            if (i % 2 == 0)
            {
                b.Order(T(100), $"o{i}", store, user, session, total: 100 + (10 * i), place: place);
                b.Status(T(50), $"o{i}", store, i % 6 == 4 ? "REEMBOLSADO" : "ENTREGADO", total: 100 + (10 * i));
                b.Payment(T(90), succeeded: true, 100 + (10 * i), user, place: place);
            }
            else
            {
                b.Payment(T(90), succeeded: false, 40, user, place: place);
            }
            b.PageView(T(30), $"anon-{i}", $"b{i}", place, anonymous: $"a{i}");
            b.Lead(T(280), user, place);
            b.SignUp(T(270), $"new-{i}", place: place);
            b.Subscription(T(20), store, 500);
        }
        await _hub.PostAsync(b.Events);
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    [Theory]
    [InlineData("UTC", "")]
    [InlineData(KpiDatasets.Santiago, "")]
    [InlineData("UTC", "MX")]
    public async Task The_summary_compares_today_with_yesterday_and_the_seven_days_before_like_the_reference(string tz, string country)
    {
        var filters = country == "" ? DimensionFilters.None : DimensionFilters.Of(("country", [country]));

        var (actual, asOf) = await _hub.Api.SummaryAsync($"tz={Uri.EscapeDataString(tz)}{filters.ToQueryString()}");

        var expected = KpiLiveReference.Summary(_hub.Reference, asOf, tz, filters);
        Assert.Equal(expected.Select(r => r.Metric), actual.Select(r => r.Metric));
        var differences = expected.Zip(actual)
            .Where(pair => !(Same(pair.First.Metric, pair.First.Today, pair.Second.Today) && Same(pair.First.Metric, pair.First.Yesterday, pair.Second.Yesterday)
                && KpiComparison.Close(pair.First.Avg7d, pair.Second.Avg7d)
                && KpiComparison.Close(pair.First.ChangeVsYesterdayPct, pair.Second.ChangeVsYesterdayPct)
                && KpiComparison.Close(pair.First.ChangeVsAvg7dPct, pair.Second.ChangeVsAvg7dPct)))
            .Select(pair => $"expected {pair.First}, actual {pair.Second}")
            .ToList();
        Assert.True(differences.Count == 0, $"summary tz={tz} {filters} as_of {asOf:O}: {differences.Count} KPI(s) differ:\n" + string.Join("\n", differences));
        Assert.Contains(expected, r => r.Today is > 0 && r.Yesterday is > 0 && r.Avg7d is > 0);
    }

    [Theory]
    [InlineData("UTC", 24)]
    [InlineData(KpiDatasets.Santiago, 36)]
    public async Task Every_kpis_hourly_timeseries_equals_the_reference(string tz, int hours)
    {
        var failures = new List<string>();
        foreach (var metric in KpiFormulas.Ids)
        {
            var before = DateTimeOffset.UtcNow;
            var actual = await _hub.Api.TimeseriesAsync($"metric={metric}&hours={hours}&tz={Uri.EscapeDataString(tz)}");
            var after = DateTimeOffset.UtcNow;
            var candidates = new[] { after, before }.Select(now => KpiLiveReference.Timeseries(_hub.Reference, metric, hours, now, tz, DimensionFilters.None)).ToList();
            if (!candidates.Any(expected => SameSeries(metric, expected, actual)))
            {
                var expected = candidates[0];
                var first = expected.Zip(actual).FirstOrDefault(pair => pair.First.Period != pair.Second.Period
                    || !KpiComparison.SameValue(metric, pair.First.Value, pair.Second.Value));
                failures.Add($"{metric} tz={tz} hours={hours}: {expected.Count} expected rows, {actual.Count} actual; first difference: expected {first.First}, actual {first.Second}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static bool SameSeries(string metric, List<(string Period, double? Value)> expected, List<(string Period, double? Value)> actual) =>
        expected.Count == actual.Count && expected.Zip(actual).All(pair =>
            pair.First.Period == pair.Second.Period
            && KpiComparison.SameValue(metric, pair.First.Value, pair.Second.Value));

    private static bool Same(string metric, double? expected, double? actual) => KpiComparison.SameValue(metric, expected, actual);
}
