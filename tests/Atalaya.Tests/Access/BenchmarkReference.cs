using System.Globalization;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Access;

/// <summary>
/// <c>/api/kpi/benchmark</c> the plain way: the store's KPI over the whole range as one period
/// (its "previous period" the same length just before it, its month the calendar month of its last
/// instant), beside the 25th, 50th and 75th percentiles (linear interpolation between closest
/// ranks) of the comparable stores — the other stores whose latest store_created has the same
/// country and category — that have any catalog event in the range; the quartiles only when at
/// least k of them do. A store without events in the range has no value (null).
/// </summary>
public static class BenchmarkReference
{
    public sealed record Answer(string StoreId, string? Country, string? Category, double? Value, bool Available, int Peers,
        double? P25, double? Median, double? P75);

    public static Answer Compute(ReferenceData data, IReadOnlyDictionary<string, Dimensions> stores, string metric, string storeId,
        DateOnly startDate, DateOnly endDate, string tz, int minimumPeers)
    {
        var calendar = new LocalCalendar(tz);
        var start = calendar.StartOfDay(startDate);
        var end = calendar.StartOfDay(endDate.AddDays(1));
        var period = new ReferencePeriod(startDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), start, end, start,
            start - (end - start), calendar.MonthStartBefore(end));
        var own = stores[storeId];

        double? ValueOf(string store) =>
            data.Events.Any(e => e.Dimensions.StoreId == store && e.Timestamp >= start && e.Timestamp < end)
                ? KpiFormulas.Value(metric, new KpiSlice(data, d => d.StoreId == store), period)
                : null;

        var peers = stores.Where(s => s.Key != storeId && s.Value.Country == own.Country && s.Value.Category == own.Category)
            .Select(s => ValueOf(s.Key)).OfType<double>().Order().ToList();
        var available = peers.Count >= minimumPeers;
        return new Answer(storeId, own.Country, own.Category, ValueOf(storeId), available, available ? peers.Count : 0,
            available ? Percentile(peers, 0.25) : null, available ? Percentile(peers, 0.5) : null, available ? Percentile(peers, 0.75) : null);
    }

    /// <summary>The q-th percentile of sorted values, interpolating linearly between the closest ranks (Hyndman and Fan's type 7).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        var h = (sorted.Count - 1) * q;
        var low = sorted[(int)Math.Floor(h)];
        var high = sorted[(int)Math.Ceiling(h)];
        return low + ((h - Math.Floor(h)) * (high - low));
    }
}
