using System.Globalization;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// The periods of a query as UTC instants: [Bounds[p], Bounds[p+1]) is period p, local to the
/// query's time zone (DST included), clipped to the range. Each period also knows the whole
/// aggregate period before it (for store churn) and its label.
/// </summary>
public sealed class PeriodGrid
{
    private PeriodGrid(long[] bounds, string[] labels, long[] previousStart, long[] previousEnd, long[] monthStart)
    {
        Bounds = bounds;
        Labels = labels;
        PreviousStart = previousStart;
        PreviousEnd = previousEnd;
        MonthStart = monthStart;
    }

    public long[] Bounds { get; }
    public string[] Labels { get; }
    public long[] PreviousStart { get; }
    public long[] PreviousEnd { get; }
    /// <summary>Start of the calendar month holding each period's last instant (for MRR).</summary>
    public long[] MonthStart { get; }

    public int Count => Labels.Length;
    public long Start => Bounds[0];
    public long End => Bounds[^1];

    /// <summary>The period holding <paramref name="ts"/>, or -1 outside the range.</summary>
    public int Find(long ts)
    {
        if (ts < Bounds[0] || ts >= Bounds[^1])
        {
            return -1;
        }
        var i = Array.BinarySearch(Bounds, ts);
        return i >= 0 ? i : ~i - 1;
    }

    public static PeriodGrid Build(DateOnly startDate, DateOnly endDate, Aggregate aggregate, TimeZoneInfo tz)
    {
        if (aggregate == Aggregate.Total)
        {
            return Single(startDate, endDate, tz);
        }
        var rangeStart = LocalMidnight(startDate, tz);
        var rangeEnd = LocalMidnight(endDate.AddDays(1), tz);
        var bounds = new List<long>();
        var labels = new List<string>();
        var prevStart = new List<long>();
        var prevEnd = new List<long>();
        switch (aggregate)
        {
            case Aggregate.Hourly:
                for (var t = rangeStart; t < rangeEnd; t += 3_600_000)
                {
                    bounds.Add(t);
                    labels.Add(HourLabel(t, tz));
                    prevStart.Add(t - 3_600_000);
                    prevEnd.Add(t);
                }
                break;
            case Aggregate.Daily:
                for (var d = startDate; d <= endDate; d = d.AddDays(1))
                {
                    bounds.Add(LocalMidnight(d, tz));
                    labels.Add(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                    prevStart.Add(LocalMidnight(d.AddDays(-1), tz));
                    prevEnd.Add(LocalMidnight(d, tz));
                }
                break;
            case Aggregate.Weekly:
                for (var monday = startDate.AddDays(-(((int)startDate.DayOfWeek + 6) % 7)); monday <= endDate; monday = monday.AddDays(7))
                {
                    bounds.Add(Math.Max(rangeStart, LocalMidnight(monday, tz)));
                    labels.Add(monday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                    prevStart.Add(LocalMidnight(monday.AddDays(-7), tz));
                    prevEnd.Add(LocalMidnight(monday, tz));
                }
                break;
            case Aggregate.Monthly:
                for (var first = new DateOnly(startDate.Year, startDate.Month, 1); first <= endDate; first = first.AddMonths(1))
                {
                    bounds.Add(Math.Max(rangeStart, LocalMidnight(first, tz)));
                    labels.Add(first.ToString("yyyy-MM", CultureInfo.InvariantCulture));
                    prevStart.Add(LocalMidnight(first.AddMonths(-1), tz));
                    prevEnd.Add(LocalMidnight(first, tz));
                }
                break;
        }
        bounds.Add(rangeEnd);
        var monthStart = new long[labels.Count];
        for (var p = 0; p < labels.Count; p++)
        {
            var lastInstant = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UnixEpoch.AddMilliseconds(bounds[p + 1] - 1), tz);
            monthStart[p] = LocalMidnight(new DateOnly(lastInstant.Year, lastInstant.Month, 1), tz);
        }
        return new PeriodGrid([.. bounds], [.. labels], [.. prevStart], [.. prevEnd], monthStart);
    }

    /// <summary>The whole range as one period, labelled by its first date.</summary>
    public static PeriodGrid Single(DateOnly startDate, DateOnly endDate, TimeZoneInfo tz)
    {
        var start = LocalMidnight(startDate, tz);
        var end = LocalMidnight(endDate.AddDays(1), tz);
        var lastInstant = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UnixEpoch.AddMilliseconds(end - 1), tz);
        return new PeriodGrid([start, end], [startDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)],
            [start - (end - start)], [start], [LocalMidnight(new DateOnly(lastInstant.Year, lastInstant.Month, 1), tz)]);
    }

    /// <summary>
    /// Periods for ascending, non-overlapping windows [start, end) in UTC ms (alerts compare the same
    /// hours of several days). The gaps between windows are periods too, labelled "gap"; a window's
    /// label is its index.
    /// </summary>
    public static PeriodGrid Windows(IReadOnlyList<(long Start, long End)> windows, TimeZoneInfo tz)
    {
        var bounds = new List<long>();
        var labels = new List<string>();
        for (var i = 0; i < windows.Count; i++)
        {
            var (start, end) = windows[i];
            if (end <= start || (bounds.Count > 0 && start < bounds[^1]))
            {
                throw new ArgumentException("Windows must be non-empty, ascending and must not overlap.", nameof(windows));
            }
            if (bounds.Count > 0 && start > bounds[^1])
            {
                labels.Add("gap");
                bounds.Add(start);
            }
            if (bounds.Count == 0)
            {
                bounds.Add(start);
            }
            labels.Add(i.ToString(CultureInfo.InvariantCulture));
            bounds.Add(end);
        }
        var count = labels.Count;
        var previousStart = new long[count];
        var previousEnd = new long[count];
        var monthStart = new long[count];
        for (var p = 0; p < count; p++)
        {
            previousStart[p] = bounds[p] - (bounds[p + 1] - bounds[p]);
            previousEnd[p] = bounds[p];
            var lastInstant = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UnixEpoch.AddMilliseconds(bounds[p + 1] - 1), tz);
            monthStart[p] = LocalMidnight(new DateOnly(lastInstant.Year, lastInstant.Month, 1), tz);
        }
        return new PeriodGrid([.. bounds], [.. labels], previousStart, previousEnd, monthStart);
    }

    /// <summary><paramref name="hours"/> hourly periods from <paramref name="start"/> (UTC ms, on an hour).</summary>
    public static PeriodGrid HourRange(long start, int hours, TimeZoneInfo tz)
    {
        var bounds = new long[hours + 1];
        var labels = new string[hours];
        var previousStart = new long[hours];
        var previousEnd = new long[hours];
        var monthStart = new long[hours];
        for (var h = 0; h <= hours; h++)
        {
            bounds[h] = start + h * 3_600_000L;
        }
        for (var h = 0; h < hours; h++)
        {
            labels[h] = HourLabel(bounds[h], tz);
            previousStart[h] = bounds[h] - 3_600_000;
            previousEnd[h] = bounds[h];
            var lastInstant = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UnixEpoch.AddMilliseconds(bounds[h + 1] - 1), tz);
            monthStart[h] = LocalMidnight(new DateOnly(lastInstant.Year, lastInstant.Month, 1), tz);
        }
        return new PeriodGrid(bounds, labels, previousStart, previousEnd, monthStart);
    }

    /// <summary>
    /// The first instant of a local date in UTC ms. Where midnight does not exist (a DST jump at
    /// midnight, as in Chile) the day starts at the first valid minute; where it exists twice, at
    /// the earlier one.
    /// </summary>
    public static long LocalMidnight(DateOnly date, TimeZoneInfo tz)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (tz.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }
        var offset = tz.IsAmbiguousTime(local) ? tz.GetAmbiguousTimeOffsets(local).Max() : tz.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUnixTimeMilliseconds();
    }

    /// <summary>Today's date in <paramref name="tz"/>.</summary>
    public static DateOnly Today(TimeProvider time, TimeZoneInfo tz) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time.GetUtcNow(), tz).DateTime);

    public static string HourLabel(long utcMs, TimeZoneInfo tz)
    {
        var instant = DateTimeOffset.FromUnixTimeMilliseconds(utcMs);
        var offset = tz.GetUtcOffset(instant);
        var local = instant.ToOffset(offset);
        var text = local.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
        return offset == TimeSpan.Zero ? text + "Z" : text + local.ToString("zzz", CultureInfo.InvariantCulture);
    }

    public static string Instant(long utcMs, TimeZoneInfo tz)
    {
        var instant = DateTimeOffset.FromUnixTimeMilliseconds(utcMs);
        var offset = tz.GetUtcOffset(instant);
        var local = instant.ToOffset(offset);
        var text = local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        return offset == TimeSpan.Zero ? text + "Z" : text + local.ToString("zzz", CultureInfo.InvariantCulture);
    }
}
