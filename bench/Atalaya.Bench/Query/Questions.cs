using System.Globalization;
using System.Text.Json;

namespace Atalaya.Bench.Query;

/// <summary>
/// The question set of issue 3, each as the hub's endpoint (docs/metrics-api.md) and the ClickHouse SQL a
/// team would write for it over <see cref="ClickHouseTable"/>. The SQL keeps the contract's
/// definitions: orders are distinct <c>order_id</c>s of <c>purchase_completed</c>, amounts in
/// reporting currency (<c>× fx</c>), sessions belong to the day of their first event, users are
/// <c>user_id</c> else <c>anonymous_id</c>.
/// </summary>
public static class Questions
{
    private const string Table = ClickHouseTable.Name;
    private static readonly string[] SummaryKpis = ["gmv", "orders", "visitors", "sessions"];
    private static readonly string[] FunnelSteps = ["page_view", "product_viewed", "add_to_cart", "purchase_completed"];

    public static IReadOnlyList<Question> All { get; } =
    [
        new("Daily GMV by country, 90 days", "GMV by country", "/api/kpi/query?metric=gmv&start_date=90d&aggregate=daily&group_by=country", true,
            clock => $"""
                SELECT toDate(order_ts) AS day, order_country AS country, sum(order_total * order_fx) AS gmv
                FROM (SELECT order_id, any(ts) AS order_ts, any(country) AS order_country, any(total) AS order_total, any(fx) AS order_fx
                      FROM {Table}
                      WHERE event_type = 'purchase_completed' AND ts >= {QueryClock.Sql(clock.FirstOf(90))} AND ts < {QueryClock.Sql(clock.Tomorrow)}
                      GROUP BY order_id)
                GROUP BY day, country ORDER BY day, country
                """,
            (json, _) => Series(json, ["country"], hourly: false),
            (rows, clock) => new Answer(rows.ToDictionary(r => $"{r[0]}|{r[1]}", r => Number(r[2])), QueryClock.DayKey(clock.FirstOf(90)), QueryClock.DayKey(clock.Today))),

        // The order ledger (docs/metrics-api.md): deliveries minus refunds, each on the day of its own status
        // event. In the demo data an order has one ENTREGADO and at most one whole REEMBOLSADO after it,
        // so the first of each per order is the ledger.
        new("Net GMV by country, daily, 90 days", "net GMV by country", "/api/kpi/query?metric=net_gmv&start_date=90d&aggregate=daily&group_by=country", true,
            clock => $"""
                SELECT toDate(status_ts) AS day, status_country AS country,
                       sumIf(status_total * status_fx, status = 'ENTREGADO') - sumIf(status_total * status_fx, status = 'REEMBOLSADO') AS net_gmv
                FROM (SELECT order_id, status, min(ts) AS status_ts, argMin(country, ts) AS status_country,
                             argMin(snapshot_total, ts) AS status_total, argMin(fx, ts) AS status_fx
                      FROM {Table}
                      WHERE event_type = 'order_status_changed' AND status IN ('ENTREGADO', 'REEMBOLSADO')
                      GROUP BY order_id, status)
                WHERE status_ts >= {QueryClock.Sql(clock.FirstOf(90))} AND status_ts < {QueryClock.Sql(clock.Tomorrow)}
                GROUP BY day, country ORDER BY day, country
                """,
            (json, _) => Series(json, ["country"], hourly: false),
            (rows, clock) => new Answer(rows.ToDictionary(r => $"{r[0]}|{r[1]}", r => Number(r[2])), QueryClock.DayKey(clock.FirstOf(90)), QueryClock.DayKey(clock.Today))),

        new("Bounce rate, daily, 90 days", "bounce rate", "/api/kpi/query?metric=bounce_rate&start_date=90d&aggregate=daily", true,
            clock => $"""
                SELECT day, 100 * countIf(events = 1) / count() AS bounce_rate
                FROM (SELECT session_id, toDate(min(ts)) AS day, count() AS events
                      FROM {Table}
                      WHERE session_id != '' AND ts >= {QueryClock.Sql(clock.FirstOf(91))} AND ts < {QueryClock.Sql(clock.Tomorrow)}
                      GROUP BY session_id)
                WHERE day >= toDate('{QueryClock.DayKey(clock.FirstOf(90))}')
                GROUP BY day ORDER BY day
                """,
            (json, _) => Series(json, [], hourly: false),
            (rows, clock) => new Answer(rows.ToDictionary(r => r[0], r => Number(r[1])), QueryClock.DayKey(clock.FirstOf(90)), QueryClock.DayKey(clock.Today))),

        new("Funnel, 4 steps, 1 h window, 30 days", "funnel", "/api/analysis/funnel?steps=page_view,product_viewed,add_to_cart,purchase_completed&window=3600&start_date=30d", false,
            clock => $"""
                SELECT level, count() AS users
                FROM (SELECT user_key, windowFunnel(3600)(ts, event_type = 'page_view', event_type = 'product_viewed',
                                                          event_type = 'add_to_cart', event_type = 'purchase_completed') AS level
                      FROM {Table}
                      WHERE event_type IN ('page_view', 'product_viewed', 'add_to_cart', 'purchase_completed') AND user_key != ''
                        AND ts >= {QueryClock.Sql(clock.FirstOf(30))} AND ts < {QueryClock.Sql(clock.Tomorrow)}
                      GROUP BY user_key)
                GROUP BY level ORDER BY level
                """,
            (json, _) => Funnel(json),
            (rows, _) => new Answer(FunnelSteps.Select((step, i) => (step, users: rows.Where(r => int.Parse(r[0], CultureInfo.InvariantCulture) > i).Sum(r => Number(r[1]))))
                .ToDictionary(s => s.step, s => s.users))),

        new("Monthly retention cohorts", "retention", "/api/analysis/retention?period=month", false,
            _ => $"""
                SELECT cohort, toRelativeMonthNum(month) - toRelativeMonthNum(cohort) AS months_since_first, count() AS users
                FROM (SELECT user_key, min(toStartOfMonth(ts)) AS cohort, groupUniqArray(toStartOfMonth(ts)) AS months
                      FROM {Table}
                      WHERE event_type = 'purchase_completed' AND user_key != ''
                      GROUP BY user_key)
                ARRAY JOIN months AS month
                GROUP BY cohort, months_since_first ORDER BY cohort, months_since_first
                """,
            (json, _) => Retention(json),
            (rows, _) => new Answer(rows.ToDictionary(r => $"{r[0][..7]}|{r[1]}", r => Number(r[2])))),

        new("Top 100 products by revenue, 30 days", "top products", "/api/analysis/top-products?order_by=revenue&limit=100&start_date=30d", false,
            clock => $"""
                SELECT product_id, product_name, store_id, revenue, units, orders, views
                FROM (SELECT item AS product_id, any(store_id) AS store_id, sum(item_p * item_q * fx) AS revenue,
                             sum(item_q) AS units, uniqExact(order_id) AS orders
                      FROM {Table} ARRAY JOIN item_product_id AS item, item_price AS item_p, item_quantity AS item_q
                      WHERE event_type = 'purchase_completed' AND ts >= {QueryClock.Sql(clock.FirstOf(30))} AND ts < {QueryClock.Sql(clock.Tomorrow)}
                      GROUP BY item ORDER BY revenue DESC LIMIT 100)
                ANY LEFT JOIN
                     (SELECT product_id, any(product_name) AS product_name, count() AS views
                      FROM {Table}
                      WHERE event_type = 'product_viewed' AND ts >= {QueryClock.Sql(clock.FirstOf(30))} AND ts < {QueryClock.Sql(clock.Tomorrow)}
                      GROUP BY product_id)
                USING product_id
                ORDER BY revenue DESC, product_id
                """,
            (json, _) => TopProducts(json),
            (rows, _) => new Answer(
                rows.SelectMany(r => new[] { ($"{r[0]}|revenue", Number(r[3])), ($"{r[0]}|units", Number(r[4])), ($"{r[0]}|orders", Number(r[5])), ($"{r[0]}|views", Number(r[6])) })
                    .ToDictionary(p => p.Item1, p => p.Item2),
                Ranking: [.. rows.Select(r => r[0])]),
            CompareHubKeysOnly: true),

        // orders=delivered: the orders whose latest final status now is ENTREGADO (the seeds' status = 'ENTREGADO').
        new("Top 100 products by revenue, delivered orders, 30 days", "top products delivered",
            "/api/analysis/top-products?order_by=revenue&limit=100&start_date=30d&orders=delivered", false,
            clock => $"""
                SELECT product_id, product_name, store_id, revenue, units, orders, views
                FROM (SELECT item AS product_id, any(store_id) AS store_id, sum(item_p * item_q * fx) AS revenue,
                             sum(item_q) AS units, uniqExact(order_id) AS orders
                      FROM {Table} ARRAY JOIN item_product_id AS item, item_price AS item_p, item_quantity AS item_q
                      WHERE event_type = 'purchase_completed' AND ts >= {QueryClock.Sql(clock.FirstOf(30))} AND ts < {QueryClock.Sql(clock.Tomorrow)}
                        AND order_id IN (SELECT order_id FROM {Table}
                                         WHERE event_type = 'order_status_changed' AND status IN ('ENTREGADO', 'CANCELADO', 'REEMBOLSADO')
                                         GROUP BY order_id HAVING argMax(status, ts) = 'ENTREGADO')
                      GROUP BY item ORDER BY revenue DESC LIMIT 100)
                ANY LEFT JOIN
                     (SELECT product_id, any(product_name) AS product_name, count() AS views
                      FROM {Table}
                      WHERE event_type = 'product_viewed' AND ts >= {QueryClock.Sql(clock.FirstOf(30))} AND ts < {QueryClock.Sql(clock.Tomorrow)}
                      GROUP BY product_id)
                USING product_id
                ORDER BY revenue DESC, product_id
                """,
            (json, _) => TopProducts(json),
            (rows, _) => new Answer(
                rows.SelectMany(r => new[] { ($"{r[0]}|revenue", Number(r[3])), ($"{r[0]}|units", Number(r[4])), ($"{r[0]}|orders", Number(r[5])), ($"{r[0]}|views", Number(r[6])) })
                    .ToDictionary(p => p.Item1, p => p.Item2),
                Ranking: [.. rows.Select(r => r[0])]),
            CompareHubKeysOnly: true),

        // Issue 17 item 10: the non-additive KPIs of a dashboard's weekly country table. Weeks are
        // Mondays (UTC); catalog events only (the demo's custom types are left out, as the hub
        // does); sessions belong to the week and country of their first event; a customer's
        // first order, returning orders and lifetime value are per country over all history. The
        // branches are wrapped so that the ORDER BY applies to all of them.
        new("Non-additive KPIs by country, weekly, 90 days", "weekly by country",
            "/api/kpi/query?metric=visitors,sessions,bounce_rate,conversion_rate,new_customers,returning_customers,ltv&aggregate=weekly&group_by=country&start_date=90d", true,
            clock =>
            {
                var start = QueryClock.Sql(clock.FirstOf(90));
                var tomorrow = QueryClock.Sql(clock.Tomorrow);
                var weeks = string.Join(", ", Mondays(clock.FirstOf(90), clock.Today).Select(m => $"toDate('{QueryClock.DayKey(m)}')"));
                // ClickHouse 18.16 has no WITH-subquery CTEs: each one is inlined where it is read.
                var orders = $"""
                    (SELECT order_id, argMin(user_key, ts) AS order_user, argMin(country, ts) AS order_country, min(ts) AS order_ts,
                            argMin(total * fx, ts) AS gmv
                     FROM {Table} WHERE event_type = 'purchase_completed' AND ts < {tomorrow} GROUP BY order_id)
                    """;
                var firsts = $"""
                    (SELECT order_user AS first_user, order_country AS first_country, min(order_ts) AS first_ts
                     FROM {orders} WHERE order_user != '' GROUP BY order_user, order_country)
                    """;
                var sessions = $"""
                    (SELECT session_id, min(ts) AS start_ts, argMin(country, ts) AS session_country, count() AS events,
                            max(event_type = 'purchase_completed') AS purchased
                     FROM {Table}
                     WHERE session_id != '' AND event_type NOT IN ({CustomTypes}) AND ts >= {QueryClock.Sql(clock.FirstOf(91))} AND ts < {tomorrow}
                     GROUP BY session_id HAVING start_ts >= {start})
                    """;
                return $"""
                    SELECT week, metric, group_country, value FROM (
                    SELECT toMonday(ts) AS week, 'visitors' AS metric, country AS group_country, toFloat64(uniqExact(user_key)) AS value
                    FROM {Table} WHERE user_key != '' AND event_type NOT IN ({CustomTypes}) AND ts >= {start} AND ts < {tomorrow} GROUP BY week, country
                    UNION ALL SELECT toMonday(start_ts) AS week, 'sessions' AS metric, session_country AS group_country, toFloat64(count()) AS value FROM {sessions} GROUP BY week, session_country
                    UNION ALL SELECT toMonday(start_ts) AS week, 'bounce_rate' AS metric, session_country AS group_country, 100 * countIf(events = 1) / count() AS value FROM {sessions} GROUP BY week, session_country
                    UNION ALL SELECT toMonday(start_ts) AS week, 'conversion_rate' AS metric, session_country AS group_country, 100 * countIf(purchased) / count() AS value FROM {sessions} GROUP BY week, session_country
                    UNION ALL SELECT toMonday(first_ts) AS week, 'new_customers' AS metric, first_country AS group_country, toFloat64(count()) AS value
                              FROM {firsts} WHERE first_ts >= {start} AND first_ts < {tomorrow} GROUP BY week, first_country
                    UNION ALL SELECT toMonday(order_ts) AS week, 'returning_customers' AS metric, order_country AS group_country, toFloat64(uniqExact(order_user)) AS value
                              FROM {orders} ALL INNER JOIN {firsts} ON order_user = first_user AND order_country = first_country
                              WHERE order_ts >= {start} AND order_ts < {tomorrow} AND first_ts < greatest(toDateTime(toMonday(order_ts), 'UTC'), {start})
                              GROUP BY week, order_country
                    UNION ALL SELECT w AS week, 'ltv' AS metric, order_country AS group_country,
                                     sumIf(gmv, order_ts < toDateTime(w + 7, 'UTC')) / uniqExactIf(order_user, order_user != '' AND order_ts < toDateTime(w + 7, 'UTC')) AS value
                              FROM {orders} ARRAY JOIN [{weeks}] AS w GROUP BY w, order_country)
                    ORDER BY week, metric, group_country
                    """;
            },
            (json, _) => Metrics(json, "country"),
            (rows, clock) => new Answer(rows.Where(r => r[3] != "nan" && r[3] != "inf").ToDictionary(r => $"{r[0]}|{r[1]}|{r[2]}", r => Number(r[3])),
                QueryClock.DayKey(clock.FirstOf(90)), QueryClock.DayKey(clock.Today))),

        new("KPI summary: today, yesterday, 7-day average", "summary", "/api/kpi/summary", true,
            clock =>
            {
                var from = QueryClock.Sql(clock.Today.AddDays(-7));
                var to = QueryClock.Sql(clock.Tomorrow);
                return $"""
                    SELECT day, sum(gmv), sum(orders), sum(visitors), sum(sessions)
                    FROM (SELECT toDate(order_ts) AS day, sum(order_total * order_fx) AS gmv, count() AS orders, toUInt64(0) AS visitors, toUInt64(0) AS sessions
                          FROM (SELECT order_id, any(ts) AS order_ts, any(total) AS order_total, any(fx) AS order_fx
                                FROM {Table} WHERE event_type = 'purchase_completed' AND ts >= {from} AND ts < {to} GROUP BY order_id)
                          GROUP BY day
                          UNION ALL
                          SELECT toDate(ts) AS day, toFloat64(0), toUInt64(0), uniqExact(user_key), toUInt64(0)
                          FROM {Table} WHERE user_key != '' AND ts >= {from} AND ts < {to} GROUP BY day
                          UNION ALL
                          SELECT day, toFloat64(0), toUInt64(0), toUInt64(0), count()
                          FROM (SELECT session_id, toDate(min(ts)) AS day FROM {Table}
                                WHERE session_id != '' AND ts >= {QueryClock.Sql(clock.Today.AddDays(-8))} AND ts < {to} GROUP BY session_id)
                          WHERE day >= toDate('{QueryClock.DayKey(clock.Today.AddDays(-7))}') GROUP BY day)
                    GROUP BY day ORDER BY day
                    """;
            },
            (json, _) => Summary(json),
            (rows, clock) => SummaryFromDays(rows, clock),
            CompareHubKeysOnly: true),

        new("GMV time series, hourly, 24 h", "time series", "/api/kpi/timeseries?metric=gmv&hours=24", true,
            clock => $"""
                SELECT toStartOfHour(order_ts) AS hour, sum(order_total * order_fx) AS gmv
                FROM (SELECT order_id, any(ts) AS order_ts, any(total) AS order_total, any(fx) AS order_fx
                      FROM {Table}
                      WHERE event_type = 'purchase_completed' AND ts >= {QueryClock.Sql(clock.CurrentHour.AddHours(-23))} AND ts < {QueryClock.Sql(clock.CurrentHour.AddHours(1))}
                      GROUP BY order_id)
                GROUP BY hour ORDER BY hour
                """,
            (json, _) => Series(json, [], hourly: true),
            (rows, clock) => new Answer(rows.ToDictionary(r => QueryClock.HourKey(Time(r[0])!.Value), r => Number(r[1])),
                QueryClock.HourKey(clock.CurrentHour.AddHours(-23)), QueryClock.HourKey(clock.CurrentHour))),
    ];

    /// <summary><c>{"data": [{"period", "value", dims…}], "start_date", "end_date"}</c> (docs/metrics-api.md).</summary>
    private static Answer? Series(JsonElement json, string[] dimensions, bool hourly)
    {
        if (!json.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        string? Key(JsonElement e, string name) => Text(e, name) is { } text && Time(text) is { } at ? hourly ? QueryClock.HourKey(at) : QueryClock.DayKey(at) : null;
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var row in data.EnumerateArray())
        {
            var period = Key(row, "period") ?? Key(row, "hour") ?? Key(row, "timestamp") ?? Key(row, "date");
            if (period is null)
            {
                continue;
            }
            var key = string.Join('|', [period, .. dimensions.Select(d => Text(row, d) ?? "")]);
            values[key] = values.GetValueOrDefault(key) + (Value(row, "value") ?? 0);
        }
        return new Answer(values, Key(json, "start_date"), Key(json, "end_date"));
    }

    /// <summary>The demo's event types outside the catalog: no KPI reads them.</summary>
    private const string CustomTypes = "'coupon_applied', 'courier_assigned'";

    /// <summary>The Mondays of the weeks holding <paramref name="first"/> … <paramref name="last"/>.</summary>
    private static IEnumerable<DateTime> Mondays(DateTime first, DateTime last)
    {
        for (var monday = first.AddDays(-(((int)first.DayOfWeek + 6) % 7)); monday <= last; monday = monday.AddDays(7))
        {
            yield return monday;
        }
    }

    /// <summary>Several KPIs per period and group: <c>{"data": [{"period", "metric", "value", dims…}]}</c>, keyed period|metric|dims; null values left out.</summary>
    private static Answer? Metrics(JsonElement json, params string[] dimensions)
    {
        if (!json.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var row in data.EnumerateArray())
        {
            if (Text(row, "period") is { } period && Time(period) is { } at && Text(row, "metric") is { } metric && Value(row, "value") is { } value)
            {
                values[string.Join('|', [QueryClock.DayKey(at), metric, .. dimensions.Select(d => Text(row, d) ?? "")])] = value;
            }
        }
        string? Day(string name) => Text(json, name) is { } text && Time(text) is { } day ? QueryClock.DayKey(day) : null;
        return new Answer(values, Day("start_date"), Day("end_date"));
    }

    private static Answer? Funnel(JsonElement json)
    {
        if (!json.TryGetProperty("steps", out var steps) || steps.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        return new Answer(Sum(steps.EnumerateArray().Select(s => (Text(s, "step") ?? "?", Value(s, "users") ?? 0))));
    }

    private static Answer? Retention(JsonElement json)
    {
        if (!json.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        return new Answer(Sum(data.EnumerateArray().Select(r =>
        {
            var cohort = Text(r, "cohort") ?? "?";
            return ($"{cohort[..Math.Min(7, cohort.Length)]}|{Value(r, "periods_since_first") ?? -1}", Value(r, "users") ?? 0);
        })));
    }

    private static Answer? TopProducts(JsonElement json)
    {
        if (!json.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        var ranking = new List<string>();
        foreach (var row in data.EnumerateArray())
        {
            var id = Text(row, "product_id") ?? "?";
            ranking.Add(id);
            foreach (var figure in new[] { "revenue", "units", "orders", "views" })
            {
                if (Value(row, figure) is { } value)
                {
                    values[$"{id}|{figure}"] = value;
                }
            }
        }
        return new Answer(values, Ranking: ranking);
    }

    /// <summary>
    /// The contract names the summary's content (today so far, yesterday, the 7-day average per KPI)
    /// but not its shape: any object that names one of the compared KPIs (as a property name, or
    /// in <c>metric</c>, <c>kpi</c> or <c>id</c>) and carries numbers called today, yesterday or a
    /// 7-day average (not the changes in percent) is read. Null when nothing is recognised.
    /// </summary>
    private static Answer? Summary(JsonElement json)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        void Visit(JsonElement e, string? named)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in e.EnumerateArray())
                {
                    Visit(item, null);
                }
                return;
            }
            if (e.ValueKind != JsonValueKind.Object)
            {
                return;
            }
            var kpi = Text(e, "metric") ?? Text(e, "kpi") ?? Text(e, "id") ?? named;
            foreach (var property in e.EnumerateObject())
            {
                if (kpi is not null && SummaryKpis.Contains(kpi) && property.Value.ValueKind == JsonValueKind.Number)
                {
                    var name = property.Name.ToLowerInvariant();
                    var change = name.Contains("change", StringComparison.Ordinal) || name.Contains("pct", StringComparison.Ordinal)
                        || name.Contains("percent", StringComparison.Ordinal);
                    var column = change ? null
                        : name == "today" || name == "value" ? "today"
                        : name == "yesterday" ? "yesterday"
                        : name.Contains("avg", StringComparison.Ordinal) || name.Contains("average", StringComparison.Ordinal) ? "avg7"
                        : null;
                    if (column is not null)
                    {
                        values[$"{kpi}|{column}"] = property.Value.GetDouble();
                    }
                }
                Visit(property.Value, SummaryKpis.Contains(property.Name) ? property.Name : null);
            }
        }
        Visit(json, null);
        return values.Count == 0 ? null : new Answer(values);
    }

    private static Answer SummaryFromDays(string[][] rows, QueryClock clock)
    {
        var byDay = rows.ToDictionary(r => r[0], r => r[1..].Select(Number).ToArray());
        double[] Day(DateTime day) => byDay.GetValueOrDefault(QueryClock.DayKey(day)) ?? new double[SummaryKpis.Length];
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var k = 0; k < SummaryKpis.Length; k++)
        {
            values[$"{SummaryKpis[k]}|today"] = Day(clock.Today)[k];
            values[$"{SummaryKpis[k]}|yesterday"] = Day(clock.Today.AddDays(-1))[k];
            values[$"{SummaryKpis[k]}|avg7"] = Enumerable.Range(1, 7).Average(d => Day(clock.Today.AddDays(-d))[k]);
        }
        return new Answer(values);
    }

    private static Dictionary<string, double> Sum(IEnumerable<(string Key, double Value)> pairs)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in pairs)
        {
            values[key] = values.GetValueOrDefault(key) + value;
        }
        return values;
    }

    private static string? Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double? Value(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    private static DateTime? Time(string text) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
