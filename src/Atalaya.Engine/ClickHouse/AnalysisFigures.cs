using System.Globalization;

namespace Atalaya.Engine.ClickHouse;

/// <summary>One retention cohort cell counted by ClickHouse: the cohort's label, the periods since its first, the distinct users.</summary>
public readonly record struct CohortCount(string Cohort, int PeriodsSinceFirst, long Users);

/// <summary>
/// Funnels and order-retention cohorts counted by ClickHouse itself over its raw events, with its own
/// aggregate functions: <c>windowFunnel</c> per person and <c>retention</c> per person and cohort
/// (docs/scale-out.md, "Aggregates in ClickHouse"). They follow the rules of the node's analyses
/// (docs/metrics-api.md, funnel and retention) over every event, with no filter: the
/// reconciliation check holds a node's answers to them, and the conformance tests hold them to the
/// plain reference. A person is the user id, else the anonymous id, as in the KPIs.
/// </summary>
internal static class AnalysisFigures
{
    /// <summary>
    /// The longest range a funnel may span: ClickHouse 18.16's <c>windowFunnel</c> takes 32-bit
    /// times, and the events' times go to it as milliseconds since the range's start, so that
    /// events a millisecond apart stay apart (a newer ClickHouse takes 64-bit times).
    /// </summary>
    public const long MaxFunnelRangeMs = uint.MaxValue;

    /// <summary><c>retention</c> takes at most 32 conditions: one per period of the range.</summary>
    public const int MaxRetentionPeriods = 32;

    private const string Ms = "(toUInt64(toUnixTimestamp(ts)) * 1000 + ts_ms)";

    /// <summary>
    /// How many persons reach each step of the funnel over [<paramref name="fromMs"/>, <paramref name="toMs"/>):
    /// per person, the longest chain of the steps in order, each at or after the previous, all within
    /// <paramref name="windowMs"/> of the chain's first step (ClickHouse's <c>windowFunnel</c>); events of
    /// the same millisecond chain in either order.
    /// </summary>
    /// <returns>Element k: the persons whose longest chain reaches step k (0-based).</returns>
    public static async Task<long[]> FunnelAsync(ClickHouseClient clickHouse, IReadOnlyList<string> steps, long windowMs, long fromMs, long toMs, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfZero(steps.Count, nameof(steps));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(steps.Count, 32, nameof(steps));
        if (toMs - fromMs > MaxFunnelRangeMs)
        {
            throw new ArgumentOutOfRangeException(nameof(toMs), $"A funnel counted by ClickHouse spans at most {MaxFunnelRangeMs / 86_400_000.0:0.#} days "
                + "(its windowFunnel takes 32-bit times, here milliseconds since the range's start); ask a shorter range.");
        }
        var conditions = string.Join(", ", steps.Select(s => "event_type = " + ClickHouseClient.Literal(s)));
        var types = string.Join(", ", steps.Distinct(StringComparer.Ordinal).Select(ClickHouseClient.Literal));
        // A step counts at or after the previous one, so events of the same millisecond go earlier
        // steps first: the sorted subquery reaches the aggregate on one thread in its order, and
        // windowFunnel keeps the order of events of the same time.
        var sql = $"""
            SELECT level, count() FROM (
                SELECT person, windowFunnel({windowMs})(t, {conditions}) AS level
                FROM (SELECT {KpiAggregates.Person} AS person, toUInt32({Ms} - {fromMs}) AS t, event_type
                      FROM {EventsSchema.Events}
                      WHERE event_type IN ({types}) AND (user_id != '' OR anonymous_id != '')
                        AND ts >= toDateTime({Math.Max(0, fromMs / 1000)}, 'UTC') AND ts <= toDateTime({Math.Max(0, toMs / 1000)}, 'UTC')
                        AND {Ms} >= {fromMs} AND {Ms} < {toMs}
                      ORDER BY person, t, indexOf([{types}], event_type))
                GROUP BY person)
            WHERE level > 0 GROUP BY level
            """;
        var reached = new long[steps.Count];
        await foreach (var row in clickHouse.QueryOnOneThreadAsync(sql, ct).ConfigureAwait(false))
        {
            var level = int.Parse(row[0]!, CultureInfo.InvariantCulture);
            var persons = long.Parse(row[1]!, CultureInfo.InvariantCulture);
            for (var k = 0; k < level; k++)
            {
                reached[k] += persons;
            }
        }
        return reached;
    }

    /// <summary>
    /// Order retention over [<paramref name="fromMs"/>, <paramref name="toMs"/>): each order once, at its
    /// first purchase_completed (the immutable snapshot; ties as received) and with that event's person;
    /// a person's cohort is the period (local month, or ISO week labelled by its Monday, in
    /// <paramref name="tz"/>) of their first order in the range; a cell counts the persons of the cohort
    /// with an order that many periods later (ClickHouse's <c>retention</c>, one condition per period).
    /// Cells with no person are left out.
    /// </summary>
    public static async Task<IReadOnlyList<CohortCount>> RetentionAsync(ClickHouseClient clickHouse, bool weekly, long fromMs, long toMs, TimeZoneInfo tz,
        CancellationToken ct)
    {
        var periods = Period(toMs - 1, weekly, tz) - Period(fromMs, weekly, tz) + 1;
        if (periods > MaxRetentionPeriods)
        {
            throw new ArgumentOutOfRangeException(nameof(toMs), $"Retention counted by ClickHouse spans at most {MaxRetentionPeriods} {(weekly ? "weeks" : "months")} "
                + $"(its retention function takes at most {MaxRetentionPeriods} conditions); this range has {periods}.");
        }
        var zone = ClickHouseClient.Literal(tz.Id);
        var at = "toDateTime(intDiv(tupleElement(first, 1), 1000), 'UTC')";
        var (number, start) = weekly ? ($"toRelativeWeekNum({at}, {zone})", $"toMonday({at}, {zone})") : ($"toRelativeMonthNum({at}, {zone})", $"toStartOfMonth({at}, {zone})");
        var orders = $"""
            SELECT person, {number} AS period, {start} AS period_start
            FROM (SELECT argMin({KpiAggregates.Person}, (ms, received, arrival)) AS person, min((ms, received, arrival)) AS first
                  FROM (SELECT order_id, user_id, anonymous_id, {Ms} AS ms, toUInt64(toUnixTimestamp(received_at)) * 1000 + received_ms AS received, arrival
                        FROM {EventsSchema.Events} WHERE event_type = 'purchase_completed' AND order_id != '')
                  GROUP BY order_id
                  HAVING tupleElement(first, 1) >= {fromMs} AND tupleElement(first, 1) < {toMs} AND person != '')
            """;
        // retention takes at least two conditions: a range of one period asks the second period too, and reads only the first.
        var conditions = string.Join(", ", Enumerable.Range(0, Math.Max(2, periods)).Select(k => $"period = cohort + {k}"));
        var sql = $"""
            SELECT toString(cohort_start), sumForEach(r) FROM (
                SELECT person, any(cohort_start) AS cohort_start, retention({conditions}) AS r
                FROM ({orders})
                ANY INNER JOIN (SELECT person, min(period) AS cohort, min(period_start) AS cohort_start FROM ({orders}) GROUP BY person) USING person
                GROUP BY person)
            GROUP BY cohort_start ORDER BY cohort_start
            """;
        var cells = new List<CohortCount>();
        await foreach (var row in clickHouse.QueryAsync(sql, ct).ConfigureAwait(false))
        {
            var cohort = weekly ? row[0]! : row[0]![..7];
            var counts = row[1]!.Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries);
            for (var k = 0; k < periods; k++)
            {
                if (long.Parse(counts[k], CultureInfo.InvariantCulture) is var users and > 0)
                {
                    cells.Add(new CohortCount(cohort, k, users));
                }
            }
        }
        return cells;
    }

    /// <summary>The local month (year × 12 + month) or Monday-based week an instant falls in.</summary>
    private static int Period(long ms, bool weekly, TimeZoneInfo tz)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UnixEpoch.AddMilliseconds(ms), tz);
        if (!weekly)
        {
            return (local.Year * 12) + local.Month;
        }
        var date = DateOnly.FromDateTime(local);
        return date.AddDays(-(((int)date.DayOfWeek + 6) % 7)).DayNumber / 7;
    }
}
