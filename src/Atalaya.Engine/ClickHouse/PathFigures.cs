using System.Globalization;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// The non-additive KPIs that depend on a session's or a person's whole path, per UTC day and
/// country, counted by ClickHouse over its raw events when asked (no additive state can say them):
/// the session KPIs (bounce, duration, conversion, add-to-cart, cart abandonment, checkout completion)
/// over the sessions that start that day (a session is all the catalog events with its id, on the
/// day and in the place of its first), and
/// <c>customers</c>, <c>new_customers</c> and <c>returning_customers</c> over the orders first placed
/// that day (each order once, at its first purchase_completed, with that event's person). A person is
/// new in a country on the day of their first order there, returning on a later day with an order.
/// Rules as docs/kpis.md words them; the reconciliation check compares a node's figures with these.
/// </summary>
internal static class PathFigures
{
    /// <summary>The KPI ids it answers.</summary>
    public static readonly IReadOnlyList<string> Metrics =
    [
        "bounce_rate", "avg_session_duration_s", "conversion_rate", "add_to_cart_rate", "cart_abandonment_rate", "checkout_completion_rate",
        "customers", "new_customers", "returning_customers", "repeat_customer_rate",
    ];

    /// <summary>The figures computed in floating point (percentages, a mean): compared within a relative 1e-9, the others exactly.</summary>
    public static readonly IReadOnlyList<string> Inexact = [.. Metrics.Where(m => m.EndsWith("_rate", StringComparison.Ordinal)), "avg_session_duration_s"];

    /// <param name="stores">The external table <c>store_countries</c> (store id → the country of its latest store_created).</param>
    public static async Task<IEnumerable<DailyCount>> DailyAsync(ClickHouseClient clickHouse, ExternalTable stores, string moment, long fromMs, long toMs, CancellationToken ct, QueryLaps? laps = null)
    {
        var counts = new List<DailyCount>();
        // Every event of each session with an event in the range (a session that starts in the range
        // has all its events at or after its start), kept when its first event is in the range.
        var sessions = $"""
            SELECT toString(intDiv(first_ms, 86400000)) AS day, {KpiAggregates.Place} AS place, count() AS n, countIf(events = 1) AS bounced, countIf(purchases > 0) AS converted,
                toString(sum(last_ms - first_ms)), countIf(views > 0), countIf(carts > 0), countIf(carts > 0), countIf(carts > 0 AND purchases = 0),
                countIf(checkouts > 0), countIf(checkouts > 0 AND purchases > 0 AND first_checkout_ms <= last_purchase_ms)
            FROM (SELECT tupleElement(min(m), 1) AS first_ms, max(ms) AS last_ms, argMin(store_id, m) AS store_id, argMin(country, m) AS country,
                         count() AS events, countIf(event_type = 'purchase_completed') AS purchases, countIf(event_type = 'product_viewed') AS views,
                         countIf(event_type = 'add_to_cart') AS carts, countIf(event_type = 'checkout_started') AS checkouts,
                         minIf(ms, event_type = 'checkout_started') AS first_checkout_ms, maxIf(ms, event_type = 'purchase_completed') AS last_purchase_ms
                  FROM (SELECT session_id, store_id, country, event_type, {moment} AS m, tupleElement(m, 1) AS ms FROM {EventsSchema.Events}
                        WHERE session_id IN (SELECT session_id FROM {EventsSchema.Events} WHERE session_id != ''
                                               AND ts >= toDateTime({fromMs / 1000}, 'UTC') AND ts < toDateTime({(toMs + 999) / 1000}, 'UTC'))
                          AND {KpiAggregates.CatalogEvent})
                  GROUP BY session_id HAVING first_ms >= {fromMs} AND first_ms < {toMs})
            {KpiAggregates.StoreJoin}
            GROUP BY day, place
            """;
        await foreach (var row in clickHouse.QueryAsync(sessions, stores, ct).ConfigureAwait(false))
        {
            var (day, place) = (Day(row[0]!), row[1]!);
            var f = row[2..].Select(v => long.Parse(v!, CultureInfo.InvariantCulture)).ToArray();
            counts.Add(new DailyCount("bounce_rate", day, place, Percent(f[1], f[0])));
            counts.Add(new DailyCount("conversion_rate", day, place, Percent(f[2], f[0])));
            counts.Add(new DailyCount("avg_session_duration_s", day, place, (decimal)(f[3] / 1000.0 / f[0])));
            counts.Add(new DailyCount("add_to_cart_rate", day, place, Percent(f[5], f[4])));
            counts.Add(new DailyCount("cart_abandonment_rate", day, place, Percent(f[7], f[6])));
            counts.Add(new DailyCount("checkout_completion_rate", day, place, Percent(f[9], f[8])));
        }
        laps?.Lap("sessions");
        // Every order once, at its first purchase_completed, with that event's person and place; a
        // person's first day in a place is over every order they placed there.
        var orders = $"""
            SELECT intDiv(tupleElement(first, 1), 86400000) AS day, person, {KpiAggregates.Place} AS place
            FROM (SELECT min(m) AS first, argMin(person, m) AS person, argMin(store_id, m) AS store_id, argMin(country, m) AS country
                  FROM (SELECT order_id, {KpiAggregates.Person} AS person, store_id, country, {moment} AS m FROM {EventsSchema.Events}
                        WHERE event_type = 'purchase_completed' AND order_id != '')
                  GROUP BY order_id HAVING person != '')
            {KpiAggregates.StoreJoin}
            """;
        var (firstDay, lastDay) = (fromMs / 86_400_000, (toMs - 1) / 86_400_000);
        var customers = $"""
            SELECT toString(day), place, uniqExact(person), uniqExactIf(person, day = first_day)
            FROM ({orders})
            ANY INNER JOIN (SELECT person, place, min(day) AS first_day FROM ({orders}) GROUP BY person, place) USING (person, place)
            WHERE day >= {firstDay} AND day <= {lastDay}
            GROUP BY day, place
            """;
        await foreach (var row in clickHouse.QueryAsync(customers, stores, ct).ConfigureAwait(false))
        {
            var (day, place) = (Day(row[0]!), row[1]!);
            var (all, fresh) = (long.Parse(row[2]!, CultureInfo.InvariantCulture), long.Parse(row[3]!, CultureInfo.InvariantCulture));
            counts.Add(new DailyCount("customers", day, place, all));
            if (fresh > 0)
            {
                counts.Add(new DailyCount("new_customers", day, place, fresh));
            }
            if (all > fresh)
            {
                counts.Add(new DailyCount("returning_customers", day, place, all - fresh));
                counts.Add(new DailyCount("repeat_customer_rate", day, place, Percent(all - fresh, all)));
            }
        }
        laps?.Lap("customers");
        return counts.Where(c => c.Value != 0);
    }

    private static decimal Percent(long part, long whole) => KpiAggregates.Percent(part, whole);

    private static DateOnly Day(string daysSinceEpoch) => KpiAggregates.Day(long.Parse(daysSinceEpoch, CultureInfo.InvariantCulture));
}
