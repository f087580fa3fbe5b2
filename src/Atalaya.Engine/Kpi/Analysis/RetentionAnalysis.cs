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
    public static IReadOnlyList<RetentionCell> Run(KpiProjection projection, bool weekly, long from, long to, TimeZoneInfo tz, DimensionFilter filter, AccessScope scope)
    {
        var matcher = new ScopeMatcher(projection, filter, [], scope);
        var orders = new List<(long Ts, int User)>();
        foreach (var chunk in projection.Chunks)
        {
            if (chunk.Count == 0 || chunk.MaxTs < from || chunk.MinTs >= to)
            {
                continue;
            }
            for (var i = 0; i < chunk.Count; i++)
            {
                if (chunk.Kind[i] == EventKind.PurchaseCompleted && (chunk.Flags[i] & EventFlags.Counted) != 0
                    && chunk.User[i] != 0 && chunk.Ts[i] >= from && chunk.Ts[i] < to && matcher.Matches(chunk, i))
                {
                    orders.Add((chunk.Ts[i], chunk.User[i]));
                }
            }
        }
        orders.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        var cohortOf = new Dictionary<int, int>();
        var seen = new HashSet<(int Cohort, int Since, int User)>();
        var counts = new SortedDictionary<(int Cohort, int Since), long>();
        foreach (var (ts, user) in orders)
        {
            var period = PeriodNumber(ts, weekly, tz);
            if (!cohortOf.TryGetValue(user, out var cohort))
            {
                cohortOf[user] = cohort = period;
            }
            if (seen.Add((cohort, period - cohort, user)))
            {
                var key = (cohort, period - cohort);
                counts[key] = counts.GetValueOrDefault(key) + 1;
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
