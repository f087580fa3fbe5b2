namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// The raw events in ClickHouse: <c>events</c>, one row per stored event, with the facts the KPIs
/// filter and group by as real columns and the whole stored JSON in <c>payload</c> (nothing is
/// lost, later columns can be derived from it); <c>event_ids</c>, every inserted id sorted by id,
/// which the exact dedupe step of <see cref="ClickHouseEventWriter"/> looks ids up in; and
/// <c>schema_version</c>, one row per applied step, so a later version can migrate.
///
/// <c>events</c> is partitioned by month of the event time (dropping or moving a month is one
/// partition) and sorted by (event_type, ts), the order of nearly every KPI question: one event
/// type over a range of days. ClickHouse 18.16 has no DateTime64, so the time is <c>ts</c> (seconds,
/// UTC) plus <c>ts_ms</c> (the millisecond within it) for sub-second order. Amounts are exact
/// integers in the currency's minor units (<see cref="StoredEventMapper"/> says which amount).
/// <c>received_ms</c> and <c>arrival</c> order the events received at the same moment, as the
/// embedded log did (<c>ORDER BY received_at, received_ms, arrival</c>): arrival is the event's index
/// in its request, or its sequence number in a migrated folder.
/// <c>inserted_at</c> is ClickHouse's own clock at the insert (the writer leaves it to the
/// default), one clock for every writer: a node loading its KPI projection reads the rows inserted
/// before a moment and takes the later ones from the written-events feed (the cluster's <c>ClusterFeed</c>).
///
/// Creating is idempotent (<c>IF NOT EXISTS</c>), so every writer and node runs it at start.
/// </summary>
internal static class EventsSchema
{
    public const string Events = "events";
    public const string EventIds = "event_ids";
    public const string SchemaVersion = "schema_version";
    public const string RetiredMonths = "retired_months";

    /// <summary>The steps in order; a new version is a new entry at the end, never an edit of an old one.</summary>
    private static readonly string[][] Steps =
    [
        [
        $"""
        CREATE TABLE IF NOT EXISTS {Events} (
            event_id String,
            event_type String,
            ts DateTime('UTC'),
            ts_ms UInt16,
            received_at DateTime('UTC'),
            received_ms UInt16,
            arrival UInt64,
            source_system String,
            catalog_version UInt32,
            country String,
            hub String,
            zone String,
            category String,
            store_id String,
            user_id String,
            anonymous_id String,
            session_id String,
            order_id String,
            amount Int64,
            currency String,
            fx_rate_to_reporting Float64,
            payload String,
            inserted_at DateTime('UTC') DEFAULT now()
        ) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (event_type, ts)
        """,
        $"""
        CREATE TABLE IF NOT EXISTS {EventIds} (
            event_id String,
            ts DateTime('UTC')
        ) ENGINE = MergeTree ORDER BY event_id SETTINGS index_granularity = 1024
        """,
        ],
        [
        // The months the retention job dropped (Privacy/RetentionPolicy.cs): one row per month
        // dropped, written before its partition is dropped. The dropped events' ids stay in
        // event_ids, so a retried old event is still a duplicate (the embedded hub's retired_blocks).
        $"""
        CREATE TABLE IF NOT EXISTS {RetiredMonths} (
            month UInt32,
            events UInt64,
            run_id String,
            dropped_at DateTime('UTC') DEFAULT now()
        ) ENGINE = MergeTree ORDER BY month
        """,
        ],
        // The KPI aggregates beside the raw events (KpiAggregates.cs): the table, its materialized
        // view, and the fill of the events stored before the view existed.
        KpiAggregates.Create,
        // The order ledger's status events per order (KpiAggregates.cs, kpi_ledger), for the money KPIs.
        KpiAggregates.CreateLedger,
        // Sessions dated by their first catalog event, as the KPIs date them (KpiAggregates.cs, kpi_catalog_sessions).
        KpiAggregates.CatalogSessions,
    ];

    public static int Version => Steps.Length;

    /// <summary>Creates the database and the tables when missing and applies the steps not applied yet.</summary>
    public static Task EnsureAsync(ClickHouseClient client, CancellationToken cancellationToken) => EnsureAsync(client, Steps.Length, cancellationToken);

    /// <summary>The same, through version <paramref name="through"/> only (a test makes a database as an older Atalaya left it).</summary>
    internal static async Task EnsureAsync(ClickHouseClient client, int through, CancellationToken cancellationToken)
    {
        await client.CreateDatabaseAsync(cancellationToken);
        await client.ExecuteAsync(
            $"CREATE TABLE IF NOT EXISTS {SchemaVersion} (version UInt32, applied_at DateTime('UTC') DEFAULT now()) ENGINE = MergeTree ORDER BY version",
            cancellationToken);
        var applied = (int)await client.ScalarInt64Async($"SELECT max(version) FROM {SchemaVersion}", cancellationToken);
        if (applied > Steps.Length)
        {
            throw new InvalidOperationException(
                $"the ClickHouse database '{client.Database}' is at schema version {applied}, newer than this Atalaya's {Steps.Length}; upgrade Atalaya");
        }
        for (var version = applied + 1; version <= through; version++)
        {
            // The HTTP interface runs one statement per request. Two nodes starting together may
            // both run a step: every step must be idempotent (IF NOT EXISTS), and both record it.
            foreach (var statement in Steps[version - 1])
            {
                await client.ExecuteAsync(statement, cancellationToken);
            }
            await client.ExecuteAsync($"INSERT INTO {SchemaVersion} (version) VALUES ({version})", cancellationToken);
        }
    }
}
