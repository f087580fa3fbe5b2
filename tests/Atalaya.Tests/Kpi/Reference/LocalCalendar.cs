using System.Globalization;

namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// Day, ISO week, month and hour boundaries local to one IANA time zone, DST included, computed
/// with <see cref="TimeZoneInfo"/> alone. A local day starts at its first instant: local midnight,
/// the earlier of two midnights when the clock falls back over it, or the end of the gap when the
/// clock springs forward over it (America/Santiago in September). Hours are one real hour long, so
/// a day with a repeated hour has 25 and a day with a skipped hour 23 (offsets change by whole hours
/// in the zones the tests use).
/// </summary>
public sealed class LocalCalendar
{
    public LocalCalendar(string tz)
    {
        Zone = TimeZoneInfo.FindSystemTimeZoneById(tz);
    }

    public TimeZoneInfo Zone { get; }

    public DateTimeOffset ToLocal(DateTimeOffset instant) => TimeZoneInfo.ConvertTime(instant, Zone);

    public DateOnly LocalDate(DateTimeOffset instant) => DateOnly.FromDateTime(ToLocal(instant).DateTime);

    public DateTimeOffset StartOfDay(DateOnly date)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (Zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }
        var offsets = Zone.IsAmbiguousTime(local) ? Zone.GetAmbiguousTimeOffsets(local) : [Zone.GetUtcOffset(local)];
        return offsets.Select(offset => new DateTimeOffset(local, offset).ToUniversalTime()).Min();
    }

    public static DateOnly Monday(DateOnly date) => date.AddDays(-(((int)date.DayOfWeek + 6) % 7));

    public static DateOnly FirstOfMonth(DateOnly date) => new(date.Year, date.Month, 1);

    /// <summary>Hourly labels carry the local offset (2026-03-02T13:00-06:00; Z when it is zero), so a repeated hour stays distinct.</summary>
    public string HourLabel(DateTimeOffset start)
    {
        var local = ToLocal(start);
        var offset = local.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        return offset == TimeSpan.Zero
            ? string.Create(CultureInfo.InvariantCulture, $"{local:yyyy-MM-dd'T'HH:mm}Z")
            : string.Create(CultureInfo.InvariantCulture, $"{local:yyyy-MM-dd'T'HH:mm}{sign}{offset.Duration():hh\\:mm}");
    }

    /// <summary>The periods of [<paramref name="first"/> 00:00, <paramref name="last"/> + 1 day 00:00), each cut to that range.</summary>
    public List<ReferencePeriod> Periods(DateOnly first, DateOnly last, string aggregate)
    {
        var rangeStart = StartOfDay(first);
        var rangeEnd = StartOfDay(last.AddDays(1));
        var periods = new List<ReferencePeriod>();
        if (aggregate == "hourly")
        {
            for (var start = rangeStart; start < rangeEnd; start = start.AddHours(1))
            {
                periods.Add(Hour(start));
            }
            return periods;
        }
        if (aggregate == "total")
        {
            // One period for the whole range; the period before it has the same length.
            return [new ReferencePeriod(first.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), rangeStart, rangeEnd, rangeStart,
                rangeStart - (rangeEnd - rangeStart), MonthStartBefore(rangeEnd))];
        }
        var date = aggregate switch
        {
            "daily" => first,
            "weekly" => Monday(first),
            "monthly" => FirstOfMonth(first),
            _ => throw new ArgumentException($"Unknown aggregate {aggregate}.", nameof(aggregate)),
        };
        for (; StartOfDay(date) < rangeEnd; date = Next(date, aggregate))
        {
            var full = Whole(date, aggregate);
            var end = Min(full.End, rangeEnd);
            periods.Add(full with { Start = Max(full.Start, rangeStart), End = end, MonthStart = MonthStartBefore(end) });
        }
        return periods;
    }

    public ReferencePeriod Hour(DateTimeOffset start)
    {
        var end = start.AddHours(1);
        return new ReferencePeriod(HourLabel(start), start, end, start, start.AddHours(-1), MonthStartBefore(end));
    }

    public ReferencePeriod Day(DateOnly date) => Whole(date, "daily");

    /// <summary>The whole (uncut) period of <paramref name="aggregate"/> that starts on local date <paramref name="date"/>.</summary>
    private ReferencePeriod Whole(DateOnly date, string aggregate)
    {
        var start = StartOfDay(date);
        var end = StartOfDay(Next(date, aggregate));
        var previous = StartOfDay(Previous(date, aggregate));
        var label = aggregate == "monthly"
            ? date.ToString("yyyy-MM", CultureInfo.InvariantCulture)
            : date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return new ReferencePeriod(label, start, end, start, previous, MonthStartBefore(end));
    }

    /// <summary>The start of the local calendar month that holds the instant just before <paramref name="end"/>.</summary>
    public DateTimeOffset MonthStartBefore(DateTimeOffset end) => StartOfDay(FirstOfMonth(LocalDate(end.AddTicks(-1))));

    private static DateOnly Next(DateOnly date, string aggregate) => aggregate switch
    {
        "daily" => date.AddDays(1),
        "weekly" => date.AddDays(7),
        "monthly" => date.AddMonths(1),
        _ => throw new ArgumentException($"Unknown aggregate {aggregate}.", nameof(aggregate)),
    };

    private static DateOnly Previous(DateOnly date, string aggregate) => aggregate switch
    {
        "daily" => date.AddDays(-1),
        "weekly" => date.AddDays(-7),
        "monthly" => date.AddMonths(-1),
        _ => throw new ArgumentException($"Unknown aggregate {aggregate}.", nameof(aggregate)),
    };

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
