using System.Globalization;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// One KPI's figure for one UTC day and country, counted by ClickHouse from its own aggregates: a
/// count, or for <c>gmv</c> an exact decimal amount in the reporting currency.
/// </summary>
public readonly record struct DailyCount(string Metric, DateOnly Day, string Country, decimal Value);

/// <summary>
/// The aggregates ClickHouse keeps beside the raw events (docs/scale-out.md, "Aggregates in
/// ClickHouse"): <c>kpi_daily</c>, an AggregatingMergeTree partitioned by month and filled by a
/// materialized view on every insert into <c>events</c>, one row per day, event type, country, store
/// and source with exact states: the distinct events and the distinct visitors (user id, else
/// anonymous id); and <c>kpi_orders</c> and <c>kpi_catalog_sessions</c>, one row per order (or session) and
/// month, holding when it was first seen and the store and country of that first event
/// (<c>min</c> and <c>argMin</c> states): an order counts once, on the day and in the place of its
/// first purchase_completed (the immutable snapshot, docs/kpis.md), a session on the day of its
/// first catalog event, which a per-day set cannot say. "First" is the event time in milliseconds, ties
/// broken by the order the events were received in (received time, then arrival), the order a
/// node loads them in. An order also keeps that event's amount (exact minor units), currency and
/// frozen rate, so its GMV is summed per currency and rate as integers and converted once, in
/// decimal: the same value, to the last digit, in whatever order ClickHouse adds the rows.
/// <para>
/// Every state is a <c>uniqExact</c> set or a <c>min</c> / <c>argMin</c>, so adding the same event to
/// it twice changes nothing (unlike a <c>count</c>). That is what makes filling and rebuilding safe while writers insert: the
/// view exists first, then the table is filled from <c>events</c> (any node may run the fill, more
/// than once); an event inserted meanwhile is counted by the view and again by the fill, and once.
/// The sets hold 128-bit hashes, not ids; an erasure rewrites the person's ids in <c>events</c>, so
/// it rebuilds the months it touched (<see cref="RebuildMonthsAsync"/>) and no hash of an erased id
/// stays; the retention job drops a month here when it drops it from <c>events</c>.
/// </para>
/// </summary>
internal static class KpiAggregates
{
    public const string Daily = "kpi_daily";
    public const string DailyView = "kpi_daily_mv";
    public const string Orders = "kpi_orders";
    /// <summary>Sessions by their first catalog event (schema step 5; it replaced <see cref="FirstSessions"/>).</summary>
    public const string Sessions = "kpi_catalog_sessions";
    public const string Ledger = "kpi_ledger";

    /// <summary>A person as the KPIs count one: the user id, else the anonymous id.</summary>
    internal const string Person = "if(user_id != '', user_id, anonymous_id)";

    /// <summary>
    /// The KPIs' country of a row that carries <c>store_id</c> and <c>country</c>, after <see cref="StoreJoin"/>:
    /// the store's latest country when it is a known store, else the row's own.
    /// </summary>
    internal const string Place = "if(known = 1, store_country, country)";

    /// <summary>Joins the external table <c>store_countries</c> (store id → country of its latest store_created) by store_id.</summary>
    internal const string StoreJoin = "ANY LEFT JOIN (SELECT store_id, store_country, toUInt8(1) AS known FROM store_countries) USING store_id";

    /// <summary>The first step's sessions table, which dated a session by any event with its id, custom types too; step 5 drops it.</summary>
    private const string FirstSessions = "kpi_sessions";

    /// <summary>
    /// An event of the catalog (the KPIs leave custom types out, docs/kpis.md): the collector marks a
    /// custom event with <c>"custom":true</c> right after its catalog version, before its context and
    /// properties (Collect/EventNormalizer.Write.cs).
    /// </summary>
    internal const string CatalogEvent = "NOT match(payload, '^[{][^}]*\"catalog_version\":[0-9]+,\"custom\":true,')";

    /// <summary>The figures <c>kpi_daily</c> answers, by the KPI ids of docs/kpis.md (the event type counted, or null for any).</summary>
    private static readonly (string Metric, string State, string? EventType)[] DailyMetrics =
    [
        ("pageviews", "events", "page_view"),
        ("store_visits", "events", "store_visited"),
        ("visitors", "visitors", null),
        ("active_users", "visitors", null),
        ("leads", "events", "lead_created"),
        ("new_stores", "events", "store_created"),
        ("new_users", "events", "user_signed_up"),
    ];

    /// <summary>The figures counted once per order or session, on the day of its first event: the KPI id, its table and the id column.</summary>
    private static readonly (string Metric, string Table, string Id, string Where)[] FirstSeen =
    [
        ("orders", Orders, "order_id", "event_type = 'purchase_completed' AND order_id != ''"),
        ("sessions", Sessions, "session_id", $"session_id != '' AND {CatalogEvent}"),
    ];

    /// <summary><see cref="FirstSeen"/> as the first schema step made it (a step never changes).</summary>
    private static readonly (string Metric, string Table, string Id, string Where)[] FirstStepFirstSeen =
    [
        FirstSeen[0],
        ("sessions", FirstSessions, "session_id", "session_id != ''"),
    ];

    /// <summary>The money figure of <c>kpi_orders</c>: Σ total × rate over the orders first seen that day (docs/kpis.md, gmv).</summary>
    public const string Gmv = "gmv";

    /// <summary>Every figure <see cref="DailyAsync"/> answers.</summary>
    public static readonly IReadOnlyList<string> Metrics =
        [
            .. DailyMetrics.Select(m => m.Metric), .. FirstSeen.Select(m => m.Metric), Gmv, .. LedgerFigures.Metrics, .. PathFigures.Metrics,
            .. OrderFigures.Metrics, .. PaymentFigures.Metrics,
        ];

    /// <summary>The figures of <see cref="Metrics"/> computed in floating point or divided (rates, averages): a check compares them within a relative 1e-9, the others exactly.</summary>
    public static readonly IReadOnlyList<string> Inexact = [.. PathFigures.Inexact, .. OrderFigures.Inexact, .. PaymentFigures.Inexact];

    /// <summary>Every aggregate table, each partitioned by the month of its events (the retention job drops a month from each).</summary>
    public static readonly IReadOnlyList<string> Tables = [Daily, Orders, Sessions, Ledger];

    private static string Select(string? where) => $"""
        SELECT toDate(ts) AS day, event_type, country, store_id, source_system,
            uniqExactState(event_id) AS events,
            uniqExactIfState(if(user_id != '', user_id, anonymous_id), user_id != '' OR anonymous_id != '') AS visitors
        FROM {EventsSchema.Events}{(where is null ? "" : " WHERE " + where)}
        GROUP BY day, event_type, country, store_id, source_system
        """;

    /// <summary>
    /// An event's place in time as the KPIs order events: milliseconds since 1970, then, for events
    /// of the same millisecond, when it was received (ms) and its arrival within that, which is the
    /// order a node replays the stored events in, so both pick the same event as an order's first.
    /// </summary>
    private const string Moment =
        "tuple(toUInt64(toUnixTimestamp(ts)) * 1000 + ts_ms, toUInt64(toUnixTimestamp(received_at)) * 1000 + received_ms, arrival)";

    private const string MomentType = "Tuple(UInt64, UInt64, UInt64)";

    /// <summary>The first event's money, kept for orders only.</summary>
    private static readonly (string Column, string Source, string Type)[] Money =
        [("first_amount", "amount", "Int64"), ("first_currency", "currency", "String"), ("first_fx", "fx_rate_to_reporting", "Float64")];

    private static string SelectFirst(string id, string where, bool money) => $"""
        SELECT toYYYYMM(ts) AS month, {id} AS id,
            minState({Moment}) AS first,
            argMinState(store_id, {Moment}) AS first_store,
            argMinState(country, {Moment}) AS first_country{(money ? string.Concat(Money.Select(m => $",\n    argMinState({m.Source}, {Moment}) AS {m.Column}")) : "")}
        FROM {EventsSchema.Events} WHERE {where}
        GROUP BY month, id
        """;

    private static string CreateFirst(string table, bool money) => $"""
        CREATE TABLE IF NOT EXISTS {table} (
            month UInt32,
            id String,
            first AggregateFunction(min, {MomentType}),
            first_store AggregateFunction(argMin, String, {MomentType}),
            first_country AggregateFunction(argMin, String, {MomentType}){(money ? string.Concat(Money.Select(m => $",\n    {m.Column} AggregateFunction(argMin, {m.Type}, {MomentType})")) : "")}
        ) ENGINE = AggregatingMergeTree PARTITION BY month ORDER BY id
        """;

    /// <summary>
    /// <c>kpi_ledger</c>'s rows: per order and month, the set of its status events (moment, store,
    /// country and stored JSON). The final statuses and their snapshots are read from the JSON when
    /// asked (<see cref="LedgerFigures"/>), so the set keeps every order_status_changed of the order.
    /// </summary>
    private static string SelectLedger(string? where) => $"""
        SELECT toYYYYMM(ts) AS month, order_id AS id, groupUniqArrayState(tuple({Moment}, store_id, country, payload)) AS events
        FROM {EventsSchema.Events} WHERE event_type = 'order_status_changed' AND order_id != ''{(where is null ? "" : " AND " + where)}
        GROUP BY month, id
        """;

    /// <summary>Each table's fill from the events that match a condition (null for every event).</summary>
    private static readonly (string Table, Func<string?, string> Fill)[] Filled =
    [
        (Daily, where => $"INSERT INTO {Daily} {Select(where)}"),
        .. FirstSeen.Select(f => (f.Table, (Func<string?, string>)(where =>
            $"INSERT INTO {f.Table} {SelectFirst(f.Id, where is null ? f.Where : $"({f.Where}) AND {where}", f.Table == Orders)}"))),
        (Ledger, where => $"INSERT INTO {Ledger} {SelectLedger(where)}"),
    ];

    /// <summary>The fills of what <c>events</c> held before the views: safe to run again, by any node, at any time.</summary>
    public static readonly IReadOnlyList<string> Fills = [.. Filled.Select(f => f.Fill(null))];

    /// <summary>The fills of the first aggregate step (<see cref="Create"/>): an earlier schema step never changes.</summary>
    private static IEnumerable<string> FirstStepFills =>
        [$"INSERT INTO {Daily} {Select(null)}", .. FirstStepFirstSeen.Select(f => $"INSERT INTO {f.Table} {SelectFirst(f.Id, f.Where, f.Table == Orders)}")];

    /// <summary>
    /// The schema step that dates a session by its first catalog event, as the KPIs do: a new table
    /// and view, the fill of the events stored before the view, then the first step's table and view
    /// dropped. Every statement is safe to run again and by two nodes at once (a new name, not a
    /// table dropped and made again).
    /// </summary>
    public static readonly string[] CatalogSessions =
    [
        CreateFirst(Sessions, money: false),
        $"CREATE MATERIALIZED VIEW IF NOT EXISTS {Sessions}_mv TO {Sessions} AS {SelectFirst(FirstSeen[1].Id, FirstSeen[1].Where, money: false)}",
        $"INSERT INTO {Sessions} {SelectFirst(FirstSeen[1].Id, FirstSeen[1].Where, money: false)}",
        $"DROP TABLE IF EXISTS {FirstSessions}_mv",
        $"DROP TABLE IF EXISTS {FirstSessions}",
    ];

    /// <summary>
    /// The schema step of <c>kpi_ledger</c> (a later step than <see cref="Create"/>): the table, its
    /// view, then the fill of the events stored before the view (safe to run again, as the others).
    /// </summary>
    public static readonly string[] CreateLedger =
    [
        $"""
        CREATE TABLE IF NOT EXISTS {Ledger} (
            month UInt32,
            id String,
            events AggregateFunction(groupUniqArray, Tuple({MomentType}, String, String, String))
        ) ENGINE = AggregatingMergeTree PARTITION BY month ORDER BY id
        """,
        $"CREATE MATERIALIZED VIEW IF NOT EXISTS {Ledger}_mv TO {Ledger} AS {SelectLedger(null)}",
        $"INSERT INTO {Ledger} {SelectLedger(null)}",
    ];

    /// <summary>The schema step: the tables, then their views, then the fills of what <c>events</c> held before the views.</summary>
    public static readonly string[] Create =
    [
        $"""
        CREATE TABLE IF NOT EXISTS {Daily} (
            day Date,
            event_type String,
            country String,
            store_id String,
            source_system String,
            events AggregateFunction(uniqExact, String),
            visitors AggregateFunction(uniqExactIf, String, UInt8)
        ) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(day) ORDER BY (day, event_type, country, store_id, source_system)
        """,
        $"CREATE MATERIALIZED VIEW IF NOT EXISTS {DailyView} TO {Daily} AS {Select(null)}",
        .. FirstStepFirstSeen.SelectMany(f => new[]
        {
            CreateFirst(f.Table, f.Table == Orders),
            $"CREATE MATERIALIZED VIEW IF NOT EXISTS {f.Table}_mv TO {f.Table} AS {SelectFirst(f.Id, f.Where, f.Table == Orders)}",
        }),
        .. FirstStepFills,
    ];

    /// <summary>
    /// Rebuilds the months (<c>YYYYMM</c>) of every aggregate table from <c>events</c> as they are
    /// now: drops each month's partition and fills it again. Inserts meanwhile reach it through the
    /// views and are counted once; a reader in between sees the month short until its fill ends.
    /// </summary>
    public static async Task RebuildMonthsAsync(ClickHouseClient clickHouse, IEnumerable<string> months, CancellationToken ct)
    {
        foreach (var month in months.Select(m => int.Parse(m, CultureInfo.InvariantCulture)).Distinct().Order())
        {
            foreach (var (table, fill) in Filled)
            {
                await clickHouse.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"ALTER TABLE {table} DROP PARTITION {month}"), ct).ConfigureAwait(false);
                await clickHouse.ExecuteAsync(fill(string.Create(CultureInfo.InvariantCulture, $"toYYYYMM(ts) = {month}")), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Each of <see cref="Metrics"/> per UTC day and country over [<paramref name="from"/>, <paramref name="to"/>],
    /// days and countries without one left out. The country is the KPIs' (docs/kpis.md): an event that
    /// names a store takes the country of that store's latest stored <c>store_created</c>, wherever it
    /// sits, so a store moved to another country moves its figures too; other events keep their own.
    /// The aggregates keep the store, so the stores are looked up when asked, not when inserted.
    /// </summary>
    /// <param name="laps">Given by a benchmark: how long each part took.</param>
    public static async Task<IReadOnlyList<DailyCount>> DailyAsync(ClickHouseClient clickHouse, DateOnly from, DateOnly to, CancellationToken ct, QueryLaps? laps = null)
    {
        var storeCountries = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var row in clickHouse.QueryAsync(
            $"SELECT store_id, argMax(payload, (received_at, received_ms, arrival)) FROM {EventsSchema.Events} PREWHERE event_type = 'store_created' WHERE store_id != '' GROUP BY store_id",
            ct).ConfigureAwait(false))
        {
            storeCountries[row[0]!] = StoreCountry(row[1]!);
        }
        var table = new ExternalTable("store_countries", "store_id String, store_country String",
            [.. storeCountries.Select(s => TabSeparated.Escape(s.Key) + "\t" + TabSeparated.Escape(s.Value))]);
        laps?.Lap("stores");
        var counts = new List<DailyCount>();
        var range = $"day >= toDate('{from:yyyy-MM-dd}') AND day <= toDate('{to:yyyy-MM-dd}')";
        foreach (var (metric, state, eventType) in DailyMetrics)
        {
            var merge = state == "events" ? "uniqExactMerge" : "uniqExactIfMerge";
            var type = eventType is null ? "" : $" AND event_type = {ClickHouseClient.Literal(eventType)}";
            // 18.16's LEFT JOIN gives an unmatched row the defaults: known is 0 for an event of no known store.
            var sql = $"""
                SELECT toString(day), {Place} AS place, {merge}({state}) AS n
                FROM (SELECT day, country, store_id, {state} FROM {Daily} WHERE {range}{type})
                {StoreJoin}
                GROUP BY day, place HAVING n > 0 ORDER BY day, place
                """;
            await foreach (var row in clickHouse.QueryAsync(sql, table, ct).ConfigureAwait(false))
            {
                counts.Add(new DailyCount(metric, DateOnly.ParseExact(row[0]!, "yyyy-MM-dd", CultureInfo.InvariantCulture), row[1]!,
                    long.Parse(row[2]!, CultureInfo.InvariantCulture)));
            }
        }
        laps?.Lap("daily sets");
        var (fromMs, toMs) = (Ms(from), Ms(to.AddDays(1)));
        foreach (var (metric, tableName, _, _) in FirstSeen)
        {
            // Each order (session) once, at its first event over every month, then counted by that event's UTC day.
            var sql = $"""
                SELECT toString(intDiv(first_ms, 86400000)) AS day, {Place} AS place, count() AS n
                FROM (SELECT tupleElement(minMerge(first), 1) AS first_ms, argMinMerge(first_store) AS store_id, argMinMerge(first_country) AS country
                      FROM {tableName} WHERE id IN ({IdsIn(tableName, fromMs, toMs)}) GROUP BY id HAVING first_ms >= {fromMs} AND first_ms < {toMs})
                {StoreJoin}
                GROUP BY day, place ORDER BY day, place
                """;
            await foreach (var row in clickHouse.QueryAsync(sql, table, ct).ConfigureAwait(false))
            {
                counts.Add(new DailyCount(metric, DateOnly.FromDayNumber(Epoch + int.Parse(row[0]!, CultureInfo.InvariantCulture)), row[1]!,
                    long.Parse(row[2]!, CultureInfo.InvariantCulture)));
            }
        }
        laps?.Lap("orders and sessions");
        counts.AddRange(await GmvAsync(clickHouse, table, fromMs, toMs, ct).ConfigureAwait(false));
        laps?.Lap("gmv");
        counts.AddRange(await LedgerAsync(clickHouse, storeCountries, fromMs, toMs, ct).ConfigureAwait(false));
        laps?.Lap("ledger");
        counts.AddRange(await PathFigures.DailyAsync(clickHouse, table, Moment, fromMs, toMs, ct, laps).ConfigureAwait(false));
        var places = await PlacesAsync(clickHouse, table, fromMs, toMs, ct).ConfigureAwait(false);
        laps?.Lap("countries of the range");
        counts.AddRange(await OrderFigures.DailyAsync(clickHouse, table, Moment, places, fromMs, toMs, ct, laps).ConfigureAwait(false));
        counts.AddRange(await PaymentFigures.DailyAsync(clickHouse, table, places, fromMs, toMs, ct, laps).ConfigureAwait(false));
        return counts;
    }

    /// <summary>
    /// The countries with an event of the catalog in the range: a KPI answer grouped by country has a
    /// group for each of them only, so the figures that carry history (LTV, MRR, stock, churn) are given for those.
    /// </summary>
    private static async Task<IReadOnlySet<string>> PlacesAsync(ClickHouseClient clickHouse, ExternalTable stores, long fromMs, long toMs, CancellationToken ct)
    {
        var places = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in clickHouse.QueryAsync(
            $"""
            SELECT DISTINCT {Place} FROM (SELECT DISTINCT store_id, country FROM {EventsSchema.Events}
                WHERE ts >= toDateTime({fromMs / 1000}, 'UTC') AND ts < toDateTime({toMs / 1000}, 'UTC') AND {CatalogEvent})
            {StoreJoin}
            """, stores, ct).ConfigureAwait(false))
        {
            places.Add(row[0]!);
        }
        return places;
    }

    /// <summary>100 × part / whole as the KPIs compute it (in floating point), then kept as a decimal; 0 for no whole (the answer's null, left out as a zero is).</summary>
    internal static decimal Percent(long part, long whole) => whole == 0 ? 0 : (decimal)(100.0 * part / whole);

    /// <summary>
    /// GMV per UTC day and country: each order's first purchase_completed once (as <c>orders</c>),
    /// its amount summed by ClickHouse as integer minor units per currency and frozen rate, each sum
    /// then converted here in decimal (minor units ÷ the currency's scale × the rate), so the figure
    /// is exact and does not depend on the order of the additions. An order without a rate adds
    /// nothing, as in the KPI (docs/kpis.md).
    /// </summary>
    private static async Task<IEnumerable<DailyCount>> GmvAsync(ClickHouseClient clickHouse, ExternalTable stores, long fromMs, long toMs, CancellationToken ct)
    {
        var sql = $"""
            SELECT toString(intDiv(first_ms, 86400000)) AS day, {Place} AS place, currency, toString(fx), toString(sum(amount))
            FROM (SELECT tupleElement(minMerge(first), 1) AS first_ms, argMinMerge(first_store) AS store_id, argMinMerge(first_country) AS country,
                      argMinMerge(first_amount) AS amount, argMinMerge(first_currency) AS currency, argMinMerge(first_fx) AS fx
                  FROM {Orders} WHERE id IN ({IdsIn(Orders, fromMs, toMs)}) GROUP BY id HAVING first_ms >= {fromMs} AND first_ms < {toMs} AND fx > 0 AND amount != 0)
            {StoreJoin}
            GROUP BY day, place, currency, fx
            """;
        var cells = new Dictionary<(int Day, string Country), decimal>();
        await foreach (var row in clickHouse.QueryAsync(sql, stores, ct).ConfigureAwait(false))
        {
            AddReported(cells, (int.Parse(row[0]!, CultureInfo.InvariantCulture), row[1]!), row[2]!, row[3]!, row[4]!);
        }
        return cells.Where(c => c.Value != 0).OrderBy(c => c.Key.Day).ThenBy(c => c.Key.Country, StringComparer.Ordinal)
            .Select(c => new DailyCount(Gmv, DateOnly.FromDayNumber(Epoch + c.Key.Day), c.Key.Country, c.Value));
    }

    /// <summary>
    /// Adds to a cell a sum of <paramref name="minor"/> units of <paramref name="currency"/> at one frozen
    /// <paramref name="rate"/>, converted in decimal (minor units ÷ the currency's scale × the rate):
    /// exact, whatever order ClickHouse added the amounts in.
    /// </summary>
    internal static void AddReported<TKey>(Dictionary<TKey, decimal> cells, TKey key, string currency, string rate, string minor) where TKey : notnull
    {
        var units = decimal.Parse(minor, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        // A rate decimal cannot hold (never a real one) adds nothing here, so the cell shows as a difference.
        if (decimal.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out var fx))
        {
            try
            {
                cells[key] = cells.GetValueOrDefault(key) + units / StoredEventMapper.Scale(currency) * fx;
            }
            catch (OverflowException)
            {
                cells.TryAdd(key, 0);
            }
        }
    }

    /// <summary>
    /// The ledger's figures per UTC day and country (<see cref="LedgerFigures"/>): every order with a
    /// status event in the months of the range, with all its status events of every month (a refund
    /// in the range is capped by a delivery before it), each in the place of its own event.
    /// </summary>
    private static async Task<IEnumerable<DailyCount>> LedgerAsync(ClickHouseClient clickHouse, Dictionary<string, string> storeCountries, long fromMs, long toMs,
        CancellationToken ct)
    {
        var sql = $"""
            SELECT id, toString(tupleElement(tupleElement(e, 1), 1)), toString(tupleElement(tupleElement(e, 1), 2)), toString(tupleElement(tupleElement(e, 1), 3)),
                tupleElement(e, 2), tupleElement(e, 3), tupleElement(e, 4)
            FROM (SELECT id, groupUniqArrayMerge(events) AS all_events FROM {Ledger}
                  WHERE id IN ({IdsIn(Ledger, fromMs, toMs)}) GROUP BY id)
            ARRAY JOIN all_events AS e
            """;
        var ledger = new LedgerFigures(fromMs, toMs);
        await foreach (var row in clickHouse.QueryAsync(sql, ct).ConfigureAwait(false))
        {
            var store = row[4]!;
            var country = store.Length > 0 && storeCountries.TryGetValue(store, out var storeCountry) ? storeCountry : row[5]!;
            ledger.Add(row[0]!, new LedgerMoment(ulong.Parse(row[1]!, CultureInfo.InvariantCulture), ulong.Parse(row[2]!, CultureInfo.InvariantCulture),
                ulong.Parse(row[3]!, CultureInfo.InvariantCulture)), country, row[6]!);
        }
        return ledger.Figures();
    }

    /// <summary>
    /// The ids (orders, sessions) of an aggregate table with an event in [fromMs, toMs), from the raw
    /// events (sorted by type and time, so a range of days is read, not every id ever): an order or
    /// session first seen in the range has an event there, and so has an order with a status line in
    /// it. The aggregate tables are sorted by id, so only those ids' rows are merged.
    /// </summary>
    private static string IdsIn(string table, long fromMs, long toMs)
    {
        var range = $"ts >= toDateTime({fromMs / 1000}, 'UTC') AND ts < toDateTime({toMs / 1000}, 'UTC')";
        return table switch
        {
            Orders => $"SELECT order_id FROM {EventsSchema.Events} PREWHERE event_type = 'purchase_completed' AND {range} WHERE order_id != ''",
            Ledger => $"SELECT order_id FROM {EventsSchema.Events} PREWHERE event_type = 'order_status_changed' AND {range} WHERE order_id != ''",
            Sessions => $"SELECT session_id FROM {EventsSchema.Events} PREWHERE {range} WHERE session_id != ''",
            _ => throw new ArgumentOutOfRangeException(nameof(table), table, "not an aggregate table of ids"),
        };
    }

    /// <summary>The <c>properties.country</c> of a stored <c>store_created</c>, or empty.</summary>
    private static string StoreCountry(string payload)
    {
        using var document = System.Text.Json.JsonDocument.Parse(payload);
        return document.RootElement.TryGetProperty("properties", out var p) && p.ValueKind == System.Text.Json.JsonValueKind.Object
            && p.TryGetProperty("country", out var c) && c.ValueKind == System.Text.Json.JsonValueKind.String ? c.GetString()! : "";
    }

    private static readonly int Epoch = new DateOnly(1970, 1, 1).DayNumber;

    /// <summary>Milliseconds in a UTC day: the figures' days are <c>intDiv(ms, DayMs)</c>, days since 1970.</summary>
    internal const long DayMs = 86_400_000;

    /// <summary>The UTC date of a day number since 1970 (ClickHouse's <c>intDiv(ms, DayMs)</c>).</summary>
    internal static DateOnly Day(long daysSinceEpoch) => DateOnly.FromDayNumber(Epoch + (int)daysSinceEpoch);

    private static long Ms(DateOnly day) => (day.DayNumber - Epoch) * 86_400_000L;
}
