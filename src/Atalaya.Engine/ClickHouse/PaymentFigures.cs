using System.Globalization;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// The payment KPIs per UTC day and country, counted by ClickHouse over its raw events when asked
/// (docs/kpis.md): <c>revenue</c> and <c>payments_success_rate</c> from payment_succeeded and
/// payment_failed; <c>mrr</c>, the subscription_charged money of the calendar month up to each day's
/// end; and <c>conversion_pct</c>, the day's leads whose person paid at or after the lead and at most
/// 7 days later, in the same country (history is read within the group, as the KPIs read it). Money
/// is summed by ClickHouse in integer minor units per currency and frozen rate, then converted in
/// decimal; an amount without a rate adds nothing, its event still counts.
/// </summary>
internal static class PaymentFigures
{
    /// <summary>The KPI ids it answers.</summary>
    public static readonly IReadOnlyList<string> Metrics = ["revenue", "payments_success_rate", "conversion_pct", "mrr"];

    /// <summary>The figures computed in floating point (percentages): compared within a relative 1e-9.</summary>
    public static readonly IReadOnlyList<string> Inexact = ["payments_success_rate", "conversion_pct"];

    private const long DayMs = KpiAggregates.DayMs;

    /// <summary>A lead converts with a payment at most this long after it (docs/kpis.md, conversion_pct).</summary>
    private const long ConversionWindowMs = 604_800_000;

    private const string Ms = "toInt64(toUnixTimestamp(ts)) * 1000 + ts_ms";

    /// <param name="stores">The external table <c>store_countries</c> (store id → the country of its latest store_created).</param>
    /// <param name="places">The countries with an event of the catalog in the range (MRR reads the month before the range too).</param>
    public static async Task<IEnumerable<DailyCount>> DailyAsync(ClickHouseClient clickHouse, ExternalTable stores, IReadOnlySet<string> places,
        long fromMs, long toMs, CancellationToken ct, QueryLaps? laps = null)
    {
        var (fromDay, toDay) = ((int)(fromMs / DayMs), (int)(toMs / DayMs));
        var first = Day(fromDay);
        var monthStartMs = (new DateOnly(first.Year, first.Month, 1).DayNumber - Day(0).DayNumber) * DayMs;
        var events = new Dictionary<(int Day, string Place, string Type), long>();
        var money = new Dictionary<(int Day, string Place, string Type), decimal>();
        await foreach (var row in clickHouse.QueryAsync(
            $"""
            SELECT toString(intDiv(ms, {DayMs})) AS day, {KpiAggregates.Place} AS place, event_type, currency, toString(fx), count(), toString(sumIf(amount, fx > 0))
            FROM (SELECT event_type, store_id, country, currency, fx_rate_to_reporting AS fx, amount, {Ms} AS ms FROM {EventsSchema.Events}
                  WHERE event_type IN ('payment_succeeded', 'payment_failed', 'subscription_charged')
                    AND ts >= toDateTime({monthStartMs / 1000}, 'UTC') AND ts < toDateTime({toMs / 1000}, 'UTC'))
            {KpiAggregates.StoreJoin}
            GROUP BY day, place, event_type, currency, fx
            """, stores, ct).ConfigureAwait(false))
        {
            var key = (int.Parse(row[0]!, CultureInfo.InvariantCulture), row[1]!, row[2]!);
            events[key] = events.GetValueOrDefault(key) + long.Parse(row[5]!, CultureInfo.InvariantCulture);
            KpiAggregates.AddReported(money, key, row[3]!, row[4]!, row[6]!);
        }
        var counts = new List<DailyCount>();
        foreach (var place in events.Keys.Select(k => k.Place).Distinct(StringComparer.Ordinal))
        {
            var month = -1;
            var mrr = 0m;
            for (var day = (int)(monthStartMs / DayMs); day < toDay; day++)
            {
                if (Day(day).Month != month)
                {
                    (month, mrr) = (Day(day).Month, 0m);
                }
                mrr += money.GetValueOrDefault((day, place, "subscription_charged"));
                if (day < fromDay)
                {
                    continue;
                }
                if (places.Contains(place))
                {
                    counts.Add(new DailyCount("mrr", Day(day), place, mrr));
                }
                counts.Add(new DailyCount("revenue", Day(day), place, money.GetValueOrDefault((day, place, "payment_succeeded"))));
                var succeeded = events.GetValueOrDefault((day, place, "payment_succeeded"));
                counts.Add(new DailyCount("payments_success_rate", Day(day), place,
                    KpiAggregates.Percent(succeeded, succeeded + events.GetValueOrDefault((day, place, "payment_failed")))));
            }
        }

        laps?.Lap("payments and subscriptions");
        // Each lead of the range against its person's payments in its place; a lead without a person never converts.
        var (fromSecond, toSecond) = (fromMs / 1000, toMs / 1000);
        var leads = $"""
            SELECT event_id, person, {KpiAggregates.Place} AS place, ms FROM (
                SELECT event_id, {KpiAggregates.Person} AS person, store_id, country, {Ms} AS ms FROM {EventsSchema.Events}
                WHERE event_type = 'lead_created' AND ts >= toDateTime({fromSecond}, 'UTC') AND ts < toDateTime({toSecond}, 'UTC'))
            {KpiAggregates.StoreJoin}
            """;
        var payments = $"""
            SELECT person, {KpiAggregates.Place} AS place, pay_ms FROM (
                SELECT {KpiAggregates.Person} AS person, store_id, country, {Ms} AS pay_ms FROM {EventsSchema.Events}
                WHERE event_type = 'payment_succeeded' AND (user_id != '' OR anonymous_id != '')
                  AND ts >= toDateTime({fromSecond}, 'UTC') AND ts < toDateTime({(toMs + ConversionWindowMs) / 1000 + 1}, 'UTC'))
            {KpiAggregates.StoreJoin}
            """;
        await foreach (var row in clickHouse.QueryAsync(
            $"""
            SELECT toString(lead_day), lead_place, count(), countIf(converted)
            FROM (SELECT event_id, any(intDiv(ms, {DayMs})) AS lead_day, any(place) AS lead_place,
                         max(person != '' AND pay_ms >= ms AND pay_ms <= ms + {ConversionWindowMs}) AS converted
                  FROM ({leads}) ALL LEFT JOIN ({payments}) USING (person, place)
                  GROUP BY event_id)
            GROUP BY lead_day, lead_place
            """, stores, ct).ConfigureAwait(false))
        {
            var (leadCount, converted) = (long.Parse(row[2]!, CultureInfo.InvariantCulture), long.Parse(row[3]!, CultureInfo.InvariantCulture));
            counts.Add(new DailyCount("conversion_pct", Day(int.Parse(row[0]!, CultureInfo.InvariantCulture)), row[1]!, KpiAggregates.Percent(converted, leadCount)));
        }
        laps?.Lap("lead conversion");
        return counts.Where(c => c.Value != 0);
    }

    private static DateOnly Day(long daysSinceEpoch) => KpiAggregates.Day(daysSinceEpoch);
}
