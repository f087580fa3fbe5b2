using System.Globalization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Kpi.Analysis;

/// <summary>One cohort cell: users of the cohort with an order N periods after their first.</summary>
public sealed record RetentionCell(string Cohort, int PeriodsSinceFirst, long Users);

/// <summary>
/// Order retention (the seed's cohort query): a user's cohort is the month (or ISO week) of their
/// first order in the range and filters; a cohort cell counts the distinct users of the cohort
/// with an order that many periods later. Periods are local to the time zone.
/// </summary>
internal static class RetentionAnalysis
{
    /// <param name="deliveredOnly">Only orders whose latest final status now is ENTREGADO (<c>orders=delivered</c>).</param>
    public static IReadOnlyList<RetentionCell> Run(KpiProjection projection, bool weekly, long from, long to, TimeZoneInfo tz, DimensionFilter filter, AccessScope scope,
        bool deliveredOnly = false)
    {
        using var matcher = new ScopeMatcher(projection, filter, [], scope);
        var delivered = deliveredOnly ? projection.DeliveredPurchases() : null;
        var orders = new List<(long Ts, int User)>();
        var purchases = projection.Kinds.Of(EventKind.PurchaseCompleted);
        foreach (var (start, length) in projection.Kinds.BlocksIn(EventKind.PurchaseCompleted, from, to))
        {
            foreach (var index in purchases.Slice(start, length))
            {
                var chunk = projection.Chunk(index);
                var i = index & (EventChunk.Size - 1);
                if ((chunk.Flags[i] & EventFlags.Counted) != 0 && chunk.User[i] != 0 && chunk.Ts[i] >= from && chunk.Ts[i] < to && matcher.Matches(chunk, i)
                    && delivered?.Contains(index) != false)
                {
                    orders.Add((chunk.Ts[i], chunk.User[i]));
                }
            }
        }
        orders.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        var cohortOf = new Dictionary<int, int>();
        // (cohort, periods since, user) packed into one key, radix-sorted, counted per run:
        // distinct users per cell without a hash set of tuples.
        var keys = new long[orders.Count];
        var n = 0;
        // Every UTC offset is a multiple of 15 minutes, so a local period never changes within a
        // UTC quarter hour: convert once per quarter hour, not once per order.
        var periodOfHour = new Dictionary<long, int>();
        foreach (var (ts, user) in orders)
        {
            var hour = ts / 900_000L;
            if (!periodOfHour.TryGetValue(hour, out var period))
            {
                periodOfHour[hour] = period = PeriodNumber(ts, weekly, tz);
            }
            if (!cohortOf.TryGetValue(user, out var cohort))
            {
                cohortOf[user] = cohort = period;
            }
            keys[n++] = ((long)cohort << 46) | ((long)(period - cohort) << 30) | (uint)user;
        }
        Query.RadixSort.Sort(keys.AsSpan(0, n));
        var counts = new List<((int Cohort, int Since) Key, long Value)>();
        for (var i = 0; i < n; i++)
        {
            if (i > 0 && keys[i] == keys[i - 1])
            {
                continue;
            }
            var key = ((int)(keys[i] >> 46), (int)((keys[i] >> 30) & 0xFFFF));
            if (counts.Count > 0 && counts[^1].Key == key)
            {
                counts[^1] = (key, counts[^1].Value + 1);
            }
            else
            {
                counts.Add((key, 1));
            }
        }
        return counts.Select(c => new RetentionCell(Label(c.Key.Cohort, weekly), c.Key.Since, c.Value)).ToList();
    }

    /// <summary>Months since year 0, or days-since-epoch of the ISO week's Monday / 7.</summary>
    private static int PeriodNumber(long ts, bool weekly, TimeZoneInfo tz)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UnixEpoch.AddMilliseconds(ts), tz);
        if (!weekly)
        {
            return local.Year * 12 + local.Month - 1;
        }
        var date = DateOnly.FromDateTime(local);
        var monday = date.AddDays(-(((int)date.DayOfWeek + 6) % 7));
        return monday.DayNumber / 7;
    }

    private static string Label(int period, bool weekly) => weekly
        ? DateOnly.FromDayNumber(period * 7).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
        : $"{period / 12:D4}-{period % 12 + 1:D2}";
}
