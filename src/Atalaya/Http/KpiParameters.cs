using System.Globalization;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Microsoft.Extensions.Primitives;

namespace Atalaya.Http;

/// <summary>
/// Parses and validates the query string of a metrics call. Every parameter an endpoint takes is
/// listed here once, with its description (also used for the OpenAPI document); an unknown
/// parameter, a bad value or an empty list is a 400 naming the parameter and what it allows.
/// </summary>
public sealed class KpiParameters
{
    public static readonly IReadOnlyDictionary<string, string> Descriptions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["metric"] = "KPI id, or a comma list of them (see /api/kpi/definitions). Default: every KPI.",
        ["start_date"] = "First local date: YYYY-MM-DD, today, or Nd (the N days ending today, e.g. 7d, 30d, 90d). Default 7d.",
        ["end_date"] = "Last local date, inclusive: YYYY-MM-DD or today. Default today.",
        ["aggregate"] = "Period of each row: hourly, daily, weekly (ISO weeks, Monday), monthly, or total (one row for the whole range). Default daily.",
        ["group_by"] = "Comma list of dimensions: " + Dimensions.AllowedNames + ".",
        ["tz"] = "IANA time zone for period boundaries, e.g. America/Mexico_City. Default UTC.",
        ["limit"] = "Maximum rows.",
        ["hours"] = "Number of hours, the current one last (1–720). Default 24.",
        ["compare"] = "Summary: whole_day (default) compares today so far with whole days; same_time stops yesterday and each of the 7 days at the local time it is now.",
        ["steps"] = "Comma list of 2–10 event types, in funnel order.",
        ["window"] = "Seconds from a chain's first step within which every later step must happen (1–2592000). Default 3600.",
        ["period"] = "Cohort period: month or week. Default month.",
        ["order_by"] = "Ranking: revenue, units, orders or views. Default revenue.",
        ["orders"] = "Which orders: placed (every order, the default) or delivered (orders whose latest final status now is ENTREGADO).",
        ["version"] = "A dictionary version (1, 2, …) to read as it was shipped; default the one in force.",
        ["country"] = "Filter: comma list of countries (ISO 3166-1 alpha-2).",
        ["hub"] = "Filter: comma list of hubs.",
        ["zone"] = "Filter: comma list of zones.",
        ["source"] = "Filter: comma list of traffic sources.",
        ["platform"] = "Filter: comma list of platforms (web, ios, android, server).",
        ["store_id"] = "Filter: comma list of store ids.",
        ["category"] = "Filter: comma list of store categories.",
        ["app_id"] = "Filter: comma list of app ids.",
        ["source_system"] = "Filter: comma list of sending systems (the write key's source, e.g. web, ga4, meta).",
        ["priority"] = "Filter: comma list of lead priorities (lead_created.priority); only leads have one.",
    };

    public static readonly string[] Range = ["start_date", "end_date", "tz"];
    public static readonly string[] Filters = Dimensions.All.Select(Dimensions.Name).ToArray();

    private readonly IQueryCollection _query;
    private readonly TimeProvider _time;

    public KpiParameters(IQueryCollection query, IReadOnlyCollection<string> allowed, TimeProvider time)
    {
        _query = query;
        _time = time;
        foreach (var key in query.Keys)
        {
            if (!allowed.Contains(key))
            {
                throw Bad($"unknown parameter '{key}'; this endpoint takes {string.Join(", ", allowed)}");
            }
        }
        TimeZone = ParseTimeZone();
    }

    public TimeZoneInfo TimeZone { get; }

    public string TimeZoneName => Text("tz") ?? "UTC";

    public static BodyException Bad(string message) => new(StatusCodes.Status400BadRequest, message);

    public string? Text(string name)
    {
        if (!_query.TryGetValue(name, out StringValues values))
        {
            return null;
        }
        var text = string.Join(",", values.Where(v => v is not null)).Trim();
        return text.Length == 0 ? throw Bad($"{name}: is empty; {Descriptions[name]}") : text;
    }

    public IReadOnlyList<string>? List(string name) =>
        Text(name)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is { } items
            ? items.Length == 0 ? throw Bad($"{name}: give at least one value") : items
            : null;

    public IReadOnlyList<KpiId> Metrics(bool single = false)
    {
        var names = List("metric");
        if (names is null)
        {
            return single ? throw Bad("metric: is required; one KPI id such as gmv (see /api/kpi/definitions)") : Enum.GetValues<KpiId>();
        }
        if (single && names.Count != 1)
        {
            throw Bad("metric: give exactly one KPI id");
        }
        return names.Select(n => KpiIds.TryParse(n, out var id) ? id
            : throw Bad($"metric: unknown KPI '{n}'; allowed: {string.Join(", ", Enum.GetValues<KpiId>().Select(KpiIds.Name))}")).Distinct().ToList();
    }

    public (DateOnly Start, DateOnly End) Dates(string defaultStart = "7d")
    {
        var today = PeriodGrid.Today(_time, TimeZone);
        var start = ParseDate("start_date", Text("start_date") ?? defaultStart, today);
        var end = ParseDate("end_date", Text("end_date") ?? "today", today);
        if (end < start)
        {
            throw Bad($"end_date: {end:yyyy-MM-dd} is before start_date {start:yyyy-MM-dd}");
        }
        if (end.DayNumber - start.DayNumber > 3660)
        {
            throw Bad("start_date: the range may span at most 3660 days");
        }
        return (start, end);
    }

    public bool HasDates => _query.ContainsKey("start_date") || _query.ContainsKey("end_date");

    private static DateOnly ParseDate(string name, string text, DateOnly today)
    {
        if (text == "today")
        {
            return today;
        }
        if (name == "start_date" && text.EndsWith('d') && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var days))
        {
            return days is >= 1 and <= 3660 ? today.AddDays(1 - days) : throw Bad($"{name}: {text} must be between 1d and 3660d");
        }
        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? InRange(name, date)
            : throw Bad($"{name}: '{text}' is not a date; use YYYY-MM-DD{(name == "start_date" ? ", today, 7d, 30d or 90d" : " or today")}");
    }

    /// <summary>The first and last dates a query may name: the years events are accepted for (2000–2100).</summary>
    public static readonly DateOnly FirstDate = new(2000, 1, 1), LastDate = new(2100, 12, 31);

    /// <summary>
    /// A date outside the years events may carry holds nothing, and near DateTime's ends the local
    /// midnights of a time zone do not exist (0001-01-01 in UTC−12, 9999-12-31 + 1 day): refused as a 400.
    /// </summary>
    public static DateOnly InRange(string name, DateOnly date) =>
        date >= FirstDate && date <= LastDate
            ? date
            : throw Bad($"{name}: {date:yyyy-MM-dd} is outside {FirstDate:yyyy-MM-dd} to {LastDate:yyyy-MM-dd}, the years events are accepted for");

    public Aggregate Aggregate() => Text("aggregate") switch
    {
        null or "daily" => Engine.Kpi.Query.Aggregate.Daily,
        "hourly" => Engine.Kpi.Query.Aggregate.Hourly,
        "weekly" => Engine.Kpi.Query.Aggregate.Weekly,
        "monthly" => Engine.Kpi.Query.Aggregate.Monthly,
        "total" => Engine.Kpi.Query.Aggregate.Total,
        var other => throw Bad($"aggregate: '{other}' is not allowed; use hourly, daily, weekly, monthly or total"),
    };

    public IReadOnlyList<Dimension> GroupBy() =>
        List("group_by")?.Select(n => Dimensions.TryParse(n, out var d) ? d
            : throw Bad($"group_by: unknown dimension '{n}'; allowed: {Dimensions.AllowedNames}")).Distinct().ToList() ?? [];

    public DimensionFilter Filter()
    {
        var values = new Dictionary<Dimension, IReadOnlyList<string>>();
        foreach (var d in Dimensions.All)
        {
            if (List(Dimensions.Name(d)) is { } list)
            {
                values[d] = list;
            }
        }
        return values.Count == 0 ? DimensionFilter.None : new DimensionFilter(values);
    }

    public int Int(string name, int min, int max, int fallback)
    {
        var text = Text(name);
        if (text is null)
        {
            return fallback;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw Bad($"{name}: '{text}' must be a whole number from {min} to {max}");
    }

    public string Choice(string name, string fallback, params string[] allowed)
    {
        var text = Text(name) ?? fallback;
        return allowed.Contains(text) ? text : throw Bad($"{name}: '{text}' is not allowed; use {string.Join(", ", allowed)}");
    }

    private TimeZoneInfo ParseTimeZone()
    {
        var name = Text("tz");
        if (name is null or "UTC")
        {
            return TimeZoneInfo.Utc;
        }
        return TimeZoneInfo.TryFindSystemTimeZoneById(name, out var tz)
            ? tz
            : throw Bad($"tz: unknown time zone '{name}'; use an IANA name such as UTC, America/Mexico_City, America/Bogota, America/Santiago or Europe/Stockholm");
    }
}
