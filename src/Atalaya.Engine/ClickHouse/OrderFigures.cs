using System.Globalization;
using System.Text.Json;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// The order KPIs that read more than the day's orders, per UTC day and country, from ClickHouse's
/// raw events when asked (ClickHouse picks each order's first event and the stock snapshots; the
/// sums over them are added up here, as the ledger's replay is): <c>aov</c>; <c>units_sold</c> from each order's items;
/// <c>active_stores</c>; <c>ltv</c> over every order up to the day's end; <c>customer_churn_rate</c>
/// and <c>store_churn_rate</c> against the day before; <c>stock_available</c>, the latest
/// inventory_snapshot of each store and product at the day's end, and <c>sell_through_rate</c>. Each
/// order counts once, at its first purchase_completed, with that event's person, store, place and
/// money (docs/kpis.md). History is read within the country, as the KPIs read it grouped by country.
/// The figures that carry history (LTV, churn, stock) are given for the countries with an event of
/// the catalog in the range only, as the KPI answer has a group for those only.
/// </summary>
internal static class OrderFigures
{
    /// <summary>The KPI ids it answers.</summary>
    public static readonly IReadOnlyList<string> Metrics =
        ["aov", "units_sold", "active_stores", "ltv", "customer_churn_rate", "store_churn_rate", "stock_available", "sell_through_rate"];

    /// <summary>The figures computed in floating point or divided (rates, averages): compared within a relative 1e-9.</summary>
    public static readonly IReadOnlyList<string> Inexact = ["aov", "ltv", "customer_churn_rate", "store_churn_rate", "sell_through_rate"];

    /// <param name="stores">The external table <c>store_countries</c> (store id → the country of its latest store_created).</param>
    /// <param name="places">The countries with an event of the catalog in the range.</param>
    public static async Task<IEnumerable<DailyCount>> DailyAsync(ClickHouseClient clickHouse, ExternalTable stores, string moment, IReadOnlySet<string> places,
        long fromMs, long toMs, CancellationToken ct, QueryLaps? laps = null)
    {
        var (fromDay, toDay) = ((int)(fromMs / DayMs), (int)(toMs / DayMs));
        var counts = new List<DailyCount>();
        // Every order once, at its first purchase_completed before the range's end.
        var orders = $"""
            SELECT toInt64(intDiv(tupleElement(first, 1), {DayMs})) AS day, person, store_id, {KpiAggregates.Place} AS place, amount, currency, fx
            FROM (SELECT min(m) AS first, argMin(person, m) AS person, argMin(store_id, m) AS store_id, argMin(country, m) AS country,
                         argMin(amount, m) AS amount, argMin(currency, m) AS currency, argMin(fx_rate_to_reporting, m) AS fx
                  FROM (SELECT order_id, {KpiAggregates.Person} AS person, store_id, country, amount, currency, fx_rate_to_reporting, {moment} AS m
                        FROM {EventsSchema.Events}
                        WHERE event_type = 'purchase_completed' AND order_id != '' AND ts < toDateTime({toMs / 1000}, 'UTC'))
                  GROUP BY order_id HAVING tupleElement(first, 1) < {toMs})
            {KpiAggregates.StoreJoin}
            """;

        // Each order's first event, read once (ClickHouse picks it; one scan of the orders instead of
        // one per figure), then summed here: money per day, place, currency and rate (LTV sums every
        // day up to the range's end), each person's first order day per place, and who ordered on
        // each day from the day before the range on (churn, active stores).
        var minor = new Dictionary<(int Day, string Place, string Currency, string Rate), long>();
        var orderCounts = new Dictionary<(int Day, string Place), long>();
        var firstDay = new Dictionary<(string Place, string Person), int>();
        var recent = new Dictionary<(int Day, string Place), (HashSet<string> People, HashSet<string> Stores)>();
        await foreach (var row in clickHouse.QueryAsync(
            $"SELECT toString(day), place, person, store_id, currency, toString(fx), toString(amount) FROM ({orders})", stores, ct).ConfigureAwait(false))
        {
            var (day, place, person, store) = (int.Parse(row[0]!, CultureInfo.InvariantCulture), row[1]!, row[2]!, row[3]!);
            orderCounts[(day, place)] = orderCounts.GetValueOrDefault((day, place)) + 1;
            if (double.TryParse(row[5]!, NumberStyles.Float, CultureInfo.InvariantCulture, out var fx) && fx > 0)
            {
                var key = (day, place, row[4]!, row[5]!);
                minor[key] = minor.GetValueOrDefault(key) + long.Parse(row[6]!, CultureInfo.InvariantCulture);
            }
            if (person.Length > 0 && (!firstDay.TryGetValue((place, person), out var first) || day < first))
            {
                firstDay[(place, person)] = day;
            }
            if (day >= fromDay - 1)
            {
                if (!recent.TryGetValue((day, place), out var who))
                {
                    recent[(day, place)] = who = (new HashSet<string>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal));
                }
                if (person.Length > 0)
                {
                    who.People.Add(person);
                }
                if (store.Length > 0)
                {
                    who.Stores.Add(store);
                }
            }
        }
        var money = new Dictionary<(int Day, string Place), decimal>();
        foreach (var ((day, place, currency, rate), sum) in minor)
        {
            KpiAggregates.AddReported(money, (day, place), currency, rate, sum.ToString(CultureInfo.InvariantCulture));
        }
        var firstCustomers = firstDay.GroupBy(f => (f.Value, f.Key.Place)).ToDictionary(g => g.Key, g => (long)g.Count());
        laps?.Lap("orders' money and first customers");
        for (var day = fromDay; day < toDay; day++)
        {
            foreach (var (key, n) in orderCounts.Where(o => o.Key.Day == day))
            {
                counts.Add(new DailyCount("aov", Day(day), key.Place, money.GetValueOrDefault(key) / n));
            }
        }
        foreach (var place in places)
        {
            var (sum, customers) = (0m, 0L);
            foreach (var (key, amount) in money.Where(m => m.Key.Place == place && m.Key.Day < fromDay))
            {
                sum += amount;
            }
            foreach (var (key, n) in firstCustomers.Where(m => m.Key.Place == place && m.Key.Value < fromDay))
            {
                customers += n;
            }
            for (var day = fromDay; day < toDay; day++)
            {
                sum += money.GetValueOrDefault((day, place));
                customers += firstCustomers.GetValueOrDefault((day, place));
                if (customers > 0)
                {
                    counts.Add(new DailyCount("ltv", Day(day), place, sum / customers));
                }
            }
        }

        // Customers and stores of each day against the day before: who ordered then and not now.
        var none = (People: new HashSet<string>(), Stores: new HashSet<string>());
        foreach (var place in recent.Keys.Select(k => k.Place).Distinct(StringComparer.Ordinal))
        {
            for (var day = fromDay; day < toDay; day++)
            {
                var now = recent.GetValueOrDefault((day, place), none);
                var before = recent.GetValueOrDefault((day - 1, place), none);
                counts.Add(new DailyCount("active_stores", Day(day), place, now.Stores.Count));
                if (places.Contains(place))
                {
                    counts.Add(new DailyCount("customer_churn_rate", Day(day), place, KpiAggregates.Percent(before.People.Count(p => !now.People.Contains(p)), before.People.Count)));
                    counts.Add(new DailyCount("store_churn_rate", Day(day), place, KpiAggregates.Percent(before.Stores.Count(s => !now.Stores.Contains(s)), before.Stores.Count)));
                }
            }
        }

        laps?.Lap("churn");
        var units = await UnitsSoldAsync(clickHouse, stores, moment, fromMs, toMs, ct).ConfigureAwait(false);
        foreach (var (key, n) in units)
        {
            counts.Add(new DailyCount("units_sold", Day(key.Day), key.Place, n));
        }
        laps?.Lap("units sold");
        var stock = await StockAsync(clickHouse, stores, moment, places, fromDay, toDay, toMs, ct).ConfigureAwait(false);
        foreach (var (key, n) in stock)
        {
            counts.Add(new DailyCount("stock_available", Day(key.Day), key.Place, n));
        }
        foreach (var key in units.Keys.Union(stock.Keys).Where(k => places.Contains(k.Place)))
        {
            var (sold, left) = (units.GetValueOrDefault(key), stock.GetValueOrDefault(key));
            counts.Add(new DailyCount("sell_through_rate", Day(key.Day), key.Place, KpiAggregates.Percent(sold, sold + left)));
        }
        laps?.Lap("stock");
        return counts.Where(c => c.Value != 0);
    }

    /// <summary>
    /// Σ items[].quantity of the orders first placed in the range, per day and place, the sum cut to a
    /// whole number as the KPI gives it. An order first placed in the range has every purchase_completed
    /// in or after it; one with an earlier purchase_completed is not the range's.
    /// </summary>
    private static async Task<Dictionary<(int Day, string Place), long>> UnitsSoldAsync(ClickHouseClient clickHouse, ExternalTable stores, string moment,
        long fromMs, long toMs, CancellationToken ct)
    {
        var (fromSecond, toSecond) = (fromMs / 1000, toMs / 1000);
        var sql = $"""
            SELECT toString(intDiv(tupleElement(first, 1), {DayMs})), {KpiAggregates.Place} AS place, payload
            FROM (SELECT min(m) AS first, argMin(payload, m) AS payload, argMin(store_id, m) AS store_id, argMin(country, m) AS country
                  FROM (SELECT order_id, store_id, country, payload, {moment} AS m FROM {EventsSchema.Events}
                        PREWHERE event_type = 'purchase_completed' AND ts >= toDateTime({fromSecond}, 'UTC') AND ts < toDateTime({toSecond}, 'UTC')
                        WHERE order_id != ''
                          AND order_id NOT IN (SELECT order_id FROM {EventsSchema.Events}
                                               WHERE event_type = 'purchase_completed' AND order_id != '' AND ts < toDateTime({fromSecond}, 'UTC')))
                  GROUP BY order_id)
            {KpiAggregates.StoreJoin}
            """;
        var sums = new Dictionary<(int Day, string Place), decimal>();
        await foreach (var row in clickHouse.QueryAsync(sql, stores, ct).ConfigureAwait(false))
        {
            var key = (int.Parse(row[0]!, CultureInfo.InvariantCulture), row[1]!);
            using var document = Parse(row[2]!);
            var quantity = 0m;
            if (Properties(document) is { } properties && properties.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in items.EnumerateArray())
                {
                    quantity += Number(item, "quantity");
                }
            }
            sums[key] = sums.GetValueOrDefault(key) + quantity;
        }
        return sums.ToDictionary(s => s.Key, s => (long)decimal.Truncate(s.Value));
    }

    /// <summary>
    /// Σ over (store, product) of the latest inventory_snapshot's quantity_available at each day's end,
    /// per place (ties: as received), the sum cut to a whole number as the KPI gives it. Snapshots are
    /// rare beside page views (one per product and count), so they are read whole and replayed here.
    /// </summary>
    private static async Task<Dictionary<(int Day, string Place), long>> StockAsync(ClickHouseClient clickHouse, ExternalTable stores, string moment,
        IReadOnlySet<string> places, int fromDay, int toDay, long toMs, CancellationToken ct)
    {
        var sql = $"""
            SELECT toString(tupleElement(m, 1)), toString(tupleElement(m, 2)), toString(tupleElement(m, 3)), {KpiAggregates.Place} AS place, store_id, payload
            FROM (SELECT store_id, country, payload, {moment} AS m FROM {EventsSchema.Events}
                  PREWHERE event_type = 'inventory_snapshot' AND ts < toDateTime({toMs / 1000}, 'UTC') WHERE store_id != '')
            {KpiAggregates.StoreJoin}
            """;
        var snapshots = new List<(LedgerMoment Moment, string Place, string Store, string Product, decimal Quantity)>();
        await foreach (var row in clickHouse.QueryAsync(sql, stores, ct).ConfigureAwait(false))
        {
            using var document = Parse(row[5]!);
            if (Properties(document) is { } properties && properties.TryGetProperty("product_id", out var product) && product.ValueKind == JsonValueKind.String)
            {
                var at = new LedgerMoment(ulong.Parse(row[0]!, CultureInfo.InvariantCulture), ulong.Parse(row[1]!, CultureInfo.InvariantCulture),
                    ulong.Parse(row[2]!, CultureInfo.InvariantCulture));
                snapshots.Add((at, row[3]!, row[4]!, product.GetString()!, Number(properties, "quantity_available")));
            }
        }
        snapshots.Sort((a, b) => a.Moment.CompareTo(b.Moment));
        var latest = new Dictionary<(string Place, string Store, string Product), decimal>();
        var totals = new Dictionary<string, decimal>(StringComparer.Ordinal);
        var stock = new Dictionary<(int Day, string Place), long>();
        var next = 0;
        for (var day = fromDay; day < toDay; day++)
        {
            var end = (ulong)((day + 1) * DayMs);
            for (; next < snapshots.Count && snapshots[next].Moment.Ms < end; next++)
            {
                var (_, place, store, product, quantity) = snapshots[next];
                totals[place] = totals.GetValueOrDefault(place) - latest.GetValueOrDefault((place, store, product)) + quantity;
                latest[(place, store, product)] = quantity;
            }
            foreach (var (place, total) in totals.Where(t => places.Contains(t.Key)))
            {
                stock[(day, place)] = (long)decimal.Truncate(total);
            }
        }
        return stock;
    }

    /// <summary>The stored JSON, or null for a row whose payload is not JSON (never one a collector wrote): it has no items and no stock.</summary>
    private static JsonDocument? Parse(string payload)
    {
        try
        {
            return JsonDocument.Parse(payload);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonElement? Properties(JsonDocument? document) =>
        document is not null && document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : null;

    private static decimal Number(JsonElement owner, string property) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) ? d : 0m;

    private const long DayMs = KpiAggregates.DayMs;

    private static DateOnly Day(long daysSinceEpoch) => KpiAggregates.Day(daysSinceEpoch);
}
