using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Storage;

/// <summary>
/// Versioned schema migrations. Each entry runs once, in order, inside a transaction, and bumps
/// <c>PRAGMA user_version</c>. Entries are never edited after they ship: a change is a new entry.
/// </summary>
internal static class Migrations
{
    private static readonly string[] Steps =
    [
        // 1: the event log, the quarantine, dimensions and tokens.
        """
        -- Raw events are stored in append-only blocks: one row per acknowledged request, holding the
        -- normalized events as a JSON array and their 128-bit event_id hashes (16 bytes each, same
        -- order). One insert per request keeps group commit cheap; the raw_events view gives SQL
        -- readers one row per event.
        CREATE TABLE event_blocks (
            block_id      INTEGER PRIMARY KEY,
            first_seq     INTEGER NOT NULL,
            event_count   INTEGER NOT NULL,
            received_at   INTEGER NOT NULL,          -- unix ms
            min_timestamp INTEGER NOT NULL,          -- unix ms, for range scans
            max_timestamp INTEGER NOT NULL,
            source_system TEXT NOT NULL,
            id_hashes     BLOB NOT NULL,
            events        BLOB NOT NULL              -- UTF-8 JSON array of normalized events
        );
        CREATE INDEX event_blocks_by_time ON event_blocks (min_timestamp, max_timestamp);
        CREATE TRIGGER event_blocks_no_update BEFORE UPDATE ON event_blocks
            BEGIN SELECT RAISE(ABORT, 'raw events are append-only'); END;
        CREATE TRIGGER event_blocks_no_delete BEFORE DELETE ON event_blocks
            BEGIN SELECT RAISE(ABORT, 'raw events are append-only'); END;

        CREATE VIEW raw_events AS
            SELECT b.first_seq + CAST(j.key AS INTEGER)      AS seq,
                   json_extract(j.value, '$.event_id')        AS event_id,
                   json_extract(j.value, '$.event_type')      AS event_type,
                   json_extract(j.value, '$.timestamp')       AS timestamp,
                   json_extract(j.value, '$.received_at')     AS received_at,
                   b.source_system                            AS source_system,
                   j.value                                    AS event
            FROM event_blocks b, json_each(CAST(b.events AS TEXT)) j;

        CREATE TABLE failed_events (
            id            INTEGER PRIMARY KEY,
            received_at   INTEGER NOT NULL,
            source_system TEXT NOT NULL,
            request_index INTEGER NOT NULL,
            event_id      TEXT,
            reason        TEXT NOT NULL,             -- RejectReason
            errors        TEXT NOT NULL,             -- JSON array of messages
            payload       TEXT NOT NULL              -- the event as received (truncated at 32 KiB)
        );
        CREATE INDEX failed_events_by_time ON failed_events (received_at);

        CREATE TABLE stores (
            store_id    TEXT PRIMARY KEY,
            store_name  TEXT,
            country     TEXT,
            hub         TEXT,
            zone        TEXT,
            category    TEXT,
            created_at  INTEGER NOT NULL
        );

        CREATE TABLE fx_rates (
            day       TEXT NOT NULL,                 -- yyyy-MM-dd (UTC)
            currency  TEXT NOT NULL,
            rate      TEXT NOT NULL,                 -- decimal, units of reporting currency per unit
            PRIMARY KEY (day, currency)
        );

        CREATE TABLE tokens (
            id            TEXT PRIMARY KEY,          -- public id, e.g. tok_3f9a1c
            name          TEXT NOT NULL,
            role          TEXT NOT NULL,
            countries     TEXT NOT NULL DEFAULT '',  -- comma lists
            hubs          TEXT NOT NULL DEFAULT '',
            zones         TEXT NOT NULL DEFAULT '',
            stores        TEXT NOT NULL DEFAULT '',
            source        TEXT,
            secret_hash   BLOB NOT NULL UNIQUE,      -- SHA-256 of the token; the token is never stored
            created_at    INTEGER NOT NULL,
            last_used_at  INTEGER,
            revoked_at    INTEGER
        );
        """,
        // 2: blocks are stored deflate-compressed (BlockCodec); blocks written before keep 'json'.
        """
        ALTER TABLE event_blocks ADD COLUMN encoding TEXT NOT NULL DEFAULT 'json';
        DROP VIEW raw_events;
        CREATE VIEW raw_events AS
            SELECT b.first_seq + CAST(j.key AS INTEGER)      AS seq,
                   json_extract(j.value, '$.event_id')        AS event_id,
                   json_extract(j.value, '$.event_type')      AS event_type,
                   json_extract(j.value, '$.timestamp')       AS timestamp,
                   json_extract(j.value, '$.received_at')     AS received_at,
                   b.source_system                            AS source_system,
                   j.value                                    AS event
            FROM event_blocks b,
                 json_each(CASE b.encoding WHEN 'deflate' THEN atalaya_inflate(b.events) ELSE CAST(b.events AS TEXT) END) j;
        """,
        // 3: the hash-chained audit log (AuditLog): append-only, each row carries its predecessor's hash.
        """
        CREATE TABLE audit_log (
            seq        INTEGER PRIMARY KEY,
            at         INTEGER NOT NULL,              -- unix ms
            actor      TEXT NOT NULL,                 -- token id (never the token), or cli:<user>
            role       TEXT NOT NULL,
            action     TEXT NOT NULL,                 -- e.g. GET /api/kpi/query, tokens.create
            params     TEXT NOT NULL,                 -- JSON: normalized parameters
            scope      TEXT NOT NULL,                 -- JSON: the actor's scope
            injected   TEXT NOT NULL,                 -- JSON: filters the scope added to the request
            rows       INTEGER NOT NULL,
            status     INTEGER NOT NULL,
            prev_hash  BLOB NOT NULL,
            hash       BLOB NOT NULL
        );
        CREATE INDEX audit_log_by_time ON audit_log (at);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
        // 4: jobs (seed 002's pipeline_runs), the D+1 marts (seed 001, seed 002's fact_kpi_daily),
        // their watermarks, the staging view and the record of raw months dropped by retention.
        // Marts are BI-facing: dates are UTC days 'YYYY-MM-DD', a dimension a row does not have is ''
        // (not NULL, so it can be part of the key), metric columns are named by KPI id (docs/kpis.md),
        // kpi_versions lists the KPI versions the row was computed with, run_id the run that last
        // changed it.
        """
        CREATE TABLE pipeline_runs (
            run_id          TEXT PRIMARY KEY,
            job             TEXT NOT NULL,
            source_system   TEXT NOT NULL,
            start_time      TEXT NOT NULL,            -- ISO 8601 UTC
            end_time        TEXT,
            status          TEXT NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failed')),
            records_written INTEGER NOT NULL DEFAULT 0,
            error_message   TEXT,
            trigger         TEXT NOT NULL,            -- schedule, catch-up, manual, cli
            details         TEXT NOT NULL DEFAULT '{}' -- JSON: range, steps
        );
        CREATE INDEX pipeline_runs_by_job ON pipeline_runs (job, start_time);
        CREATE INDEX pipeline_runs_by_time ON pipeline_runs (start_time);

        -- Per mart: every event up to through_seq is reflected in its rows up to through_day.
        CREATE TABLE mart_state (
            mart        TEXT PRIMARY KEY,
            through_seq INTEGER NOT NULL,
            through_day TEXT NOT NULL
        );

        CREATE TABLE daily_metrics (
            date TEXT NOT NULL, store_id TEXT NOT NULL, country TEXT NOT NULL, hub TEXT NOT NULL, zone TEXT NOT NULL, category TEXT NOT NULL,
            gmv REAL, orders INTEGER, aov REAL, units_sold INTEGER, delivered_gmv REAL, delivered_orders INTEGER,
            commissions REAL, refunds REAL, revenue REAL, payments_success_rate REAL, leads INTEGER, conversion_pct REAL,
            visitors INTEGER, sessions INTEGER, pageviews INTEGER, store_visits INTEGER, bounce_rate REAL, conversion_rate REAL,
            kpi_versions TEXT NOT NULL, run_id TEXT NOT NULL,
            PRIMARY KEY (date, store_id, country, hub, zone, category)
        );
        CREATE TABLE product_metrics (
            date TEXT NOT NULL, product_id TEXT NOT NULL, store_id TEXT NOT NULL, product_name TEXT,
            views INTEGER NOT NULL, add_to_carts INTEGER NOT NULL, units INTEGER NOT NULL, revenue REAL NOT NULL,
            orders INTEGER NOT NULL, conversion_pct REAL,
            kpi_versions TEXT NOT NULL, run_id TEXT NOT NULL,
            PRIMARY KEY (date, product_id, store_id)
        );
        CREATE TABLE customer_metrics (
            date TEXT NOT NULL, store_id TEXT NOT NULL, country TEXT NOT NULL,
            orders INTEGER, gmv REAL, aov REAL, new_customers INTEGER, returning_customers INTEGER, ltv REAL,
            kpi_versions TEXT NOT NULL, run_id TEXT NOT NULL,
            PRIMARY KEY (date, store_id, country)
        );
        CREATE TABLE traffic_metrics (
            date TEXT NOT NULL, country TEXT NOT NULL, source TEXT NOT NULL, platform TEXT NOT NULL,
            visitors INTEGER, sessions INTEGER, pageviews INTEGER, store_visits INTEGER, bounce_rate REAL,
            avg_session_duration_s REAL, conversion_rate REAL, add_to_cart_rate REAL, cart_abandonment_rate REAL,
            checkout_completion_rate REAL,
            kpi_versions TEXT NOT NULL, run_id TEXT NOT NULL,
            PRIMARY KEY (date, country, source, platform)
        );
        CREATE TABLE fact_kpi_daily (
            date TEXT NOT NULL, app_id TEXT NOT NULL, platform TEXT NOT NULL, source_system TEXT NOT NULL, metric TEXT NOT NULL,
            value REAL, kpi_version INTEGER NOT NULL, run_id TEXT NOT NULL,
            PRIMARY KEY (date, app_id, platform, source_system, metric)
        );

        -- Staging: the validated, deduplicated, enriched events, one row each, as SQL. A view over the
        -- raw blocks (the KPI engine's projection is the same rows in memory), so it costs no space.
        CREATE VIEW staging_events AS
            SELECT r.seq, r.event_id, r.event_type, r.timestamp, substr(r.timestamp, 1, 10) AS date,
                   coalesce(json_extract(r.event, '$.user_id'), json_extract(r.event, '$.anonymous_id')) AS user_key,
                   json_extract(r.event, '$.session_id')            AS session_id,
                   json_extract(r.event, '$.properties.store_id')   AS store_id,
                   coalesce(s.country, json_extract(r.event, '$.context.country'))   AS country,
                   coalesce(s.hub, json_extract(r.event, '$.context.hub'))           AS hub,
                   coalesce(s.zone, json_extract(r.event, '$.context.zone'))         AS zone,
                   coalesce(s.category, json_extract(r.event, '$.context.category')) AS category,
                   json_extract(r.event, '$.context.source')        AS source,
                   json_extract(r.event, '$.context.platform')      AS platform,
                   json_extract(r.event, '$.context.app_id')        AS app_id,
                   r.source_system,
                   json_extract(r.event, '$.fx_rate_to_reporting')  AS fx_rate_to_reporting,
                   coalesce(json_extract(r.event, '$.custom'), 0)   AS custom,
                   r.event
            FROM raw_events r LEFT JOIN stores s ON s.store_id = json_extract(r.event, '$.properties.store_id');

        -- What the retention job dropped: whole months of raw blocks, with their event ids kept so
        -- that a retry of a dropped event is still answered as a duplicate.
        CREATE TABLE retired_blocks (
            block_id      INTEGER PRIMARY KEY,
            first_seq     INTEGER NOT NULL,
            event_count   INTEGER NOT NULL,
            min_timestamp INTEGER NOT NULL,
            max_timestamp INTEGER NOT NULL,
            source_system TEXT NOT NULL,
            id_hashes     BLOB NOT NULL,
            month         TEXT NOT NULL,              -- 'YYYY-MM', the last month the block touches
            run_id        TEXT NOT NULL,
            dropped_at    TEXT NOT NULL
        );
        """,
        // 5: data quality (Quality/): per-day counters the profile pass keeps from the raw events, the
        // fields seen outside the catalog (schema drift), the profile's watermark and the results of
        // every check run.
        """
        -- One counter per UTC day of event time × source system × event type × measure (events,
        -- no_user, no_session, no_country, fx_missing, clamped, inconsistent). Late events add to
        -- their own day; counters are never recomputed, only added to, once per stored event.
        CREATE TABLE dq_profile (
            day           TEXT NOT NULL,
            source_system TEXT NOT NULL,
            event_type    TEXT NOT NULL,
            measure       TEXT NOT NULL,
            count         INTEGER NOT NULL,
            PRIMARY KEY (day, source_system, event_type, measure)
        ) WITHOUT ROWID;

        -- Fields stored events carried that their catalog version did not declare: an unknown event
        -- type has field '' (the type itself), unknown properties 'properties.NAME', unknown
        -- top-level members 'NAME'. Judged against the current catalog when the checks run.
        CREATE TABLE dq_schema_seen (
            event_type  TEXT NOT NULL,
            field       TEXT NOT NULL,
            first_seen  TEXT NOT NULL,               -- UTC day of event time
            last_seen   TEXT NOT NULL,
            events      INTEGER NOT NULL,
            PRIMARY KEY (event_type, field)
        ) WITHOUT ROWID;

        -- Every stored event up to through_seq has been counted in dq_profile.
        CREATE TABLE dq_state (
            name        TEXT PRIMARY KEY,
            through_seq INTEGER NOT NULL
        );

        CREATE TABLE dq_results (
            run_id      TEXT NOT NULL,
            checked_at  TEXT NOT NULL,                -- ISO 8601 UTC
            check_name  TEXT NOT NULL,                -- freshness, mart_freshness, null_rate, volume, schema_drift, consistency, quarantine, pipeline
            subject     TEXT NOT NULL,                -- what was checked: a source system, a mart, a field, an event type …
            status      TEXT NOT NULL CHECK (status IN ('ok', 'warn', 'fail', 'skipped')),
            value       REAL,
            warn_at     REAL,
            fail_at     REAL,
            unit        TEXT NOT NULL,
            message     TEXT NOT NULL,
            PRIMARY KEY (run_id, check_name, subject)
        );
        CREATE INDEX dq_results_by_time ON dq_results (checked_at);
        """,
        // 6: new blocks are stored LZ4-compressed (BlockCodec); 'json' and 'deflate' blocks stay as
        // they are. The view decodes each block by its own codec.
        """
        DROP VIEW raw_events;
        CREATE VIEW raw_events AS
            SELECT b.first_seq + CAST(j.key AS INTEGER)      AS seq,
                   json_extract(j.value, '$.event_id')        AS event_id,
                   json_extract(j.value, '$.event_type')      AS event_type,
                   json_extract(j.value, '$.timestamp')       AS timestamp,
                   json_extract(j.value, '$.received_at')     AS received_at,
                   b.source_system                            AS source_system,
                   j.value                                    AS event
            FROM event_blocks b,
                 json_each(atalaya_decode(b.encoding, b.events)) j;
        """,
        // 7: connectors and inbound webhooks (Connectors/, Webhooks/). Raw provider pages and webhook
        // bodies are kept append-only so that reprocessing never fetches again; dead letters are the
        // failed days and payloads, open until a replay resolves them; runs record their error class.
        """
        ALTER TABLE pipeline_runs ADD COLUMN error_class TEXT CHECK (error_class IN ('transient', 'auth', 'quota', 'schema'));

        -- One row per page a provider answered (error answers too), as received. Credentials are
        -- never part of request (they travel in headers) and token answers are not kept.
        CREATE TABLE connector_pages (
            page_id      INTEGER PRIMARY KEY,
            run_id       TEXT NOT NULL,
            provider     TEXT NOT NULL,             -- ga4, meta_ads, app_store
            account      TEXT NOT NULL,             -- GA4 property, Meta ad account, App Store vendor number
            from_day     TEXT NOT NULL,             -- the UTC days the request asked for
            to_day       TEXT NOT NULL,
            page_no      INTEGER NOT NULL,
            fetched_at   TEXT NOT NULL,             -- ISO 8601 UTC
            http_status  INTEGER NOT NULL,
            request      TEXT NOT NULL,             -- method and path with query
            content_type TEXT,
            body         BLOB NOT NULL
        );
        CREATE INDEX connector_pages_by_unit ON connector_pages (provider, account, run_id, page_no);
        CREATE TRIGGER connector_pages_no_update BEFORE UPDATE ON connector_pages
            BEGIN SELECT RAISE(ABORT, 'raw connector pages are append-only'); END;
        CREATE TRIGGER connector_pages_no_delete BEFORE DELETE ON connector_pages
            BEGIN SELECT RAISE(ABORT, 'raw connector pages are append-only'); END;

        -- Signed webhook bodies, stored before the answer; a signature is accepted once.
        CREATE TABLE webhook_inbox (
            id           INTEGER PRIMARY KEY,
            provider     TEXT NOT NULL,
            received_at  TEXT NOT NULL,             -- ISO 8601 UTC
            signed_at    INTEGER NOT NULL,          -- unix seconds of the signature
            signature    TEXT NOT NULL,
            body         BLOB NOT NULL,
            status       TEXT NOT NULL CHECK (status IN ('stored', 'mapped', 'dead')),
            events       INTEGER NOT NULL DEFAULT 0, -- catalog events the body became
            UNIQUE (provider, signature)
        );
        CREATE TRIGGER webhook_inbox_keep_body BEFORE UPDATE OF provider, received_at, signed_at, signature, body ON webhook_inbox
            BEGIN SELECT RAISE(ABORT, 'webhook bodies are append-only'); END;
        CREATE TRIGGER webhook_inbox_no_delete BEFORE DELETE ON webhook_inbox
            BEGIN SELECT RAISE(ABORT, 'webhook bodies are append-only'); END;

        CREATE TABLE dead_letters (
            id           INTEGER PRIMARY KEY,
            kind         TEXT NOT NULL CHECK (kind IN ('connector', 'webhook')),
            provider     TEXT NOT NULL,
            account      TEXT NOT NULL DEFAULT '',  -- connector: the account; webhook: ''
            day          TEXT,                      -- connector: the day that was not written
            run_id       TEXT,                      -- connector: the run whose pages are kept
            webhook_id   INTEGER,                   -- webhook: webhook_inbox.id
            error_class  TEXT NOT NULL,             -- transient, auth, quota, schema, mapping
            reason       TEXT NOT NULL,
            created_at   TEXT NOT NULL,
            resolved_at  TEXT,
            resolved_by  TEXT                       -- the run or replay that resolved it
        );
        CREATE INDEX dead_letters_open ON dead_letters (kind, provider, resolved_at);
        """,
        // Reports (Reports/ReportStore.cs): one row per stored report file under reports/; the id is
        // fixed by kind, period, scope and language, so a rerun replaces its row. IF NOT EXISTS: a
        // folder rewound to an older schema version (tests of upgrades) still has the table.
        """
        CREATE TABLE IF NOT EXISTS reports (
            report_id    TEXT PRIMARY KEY,
            kind         TEXT NOT NULL CHECK (kind IN ('daily', 'weekly', 'monthly')),
            period_start TEXT NOT NULL,              -- UTC day, inclusive
            period_end   TEXT NOT NULL,              -- UTC day, inclusive
            scope_kind   TEXT NOT NULL CHECK (scope_kind IN ('all', 'store', 'country')),
            scope_value  TEXT NOT NULL,              -- store id or country code; '' for all
            locale       TEXT NOT NULL,
            file_name    TEXT NOT NULL,
            content_type TEXT NOT NULL,
            bytes        INTEGER NOT NULL,
            sha256       TEXT NOT NULL,
            created_at   TEXT NOT NULL,              -- ISO 8601 UTC of the latest write
            run_id       TEXT                        -- the pipeline run that wrote it; null from the command line
        );
        CREATE INDEX IF NOT EXISTS reports_by_period ON reports (period_end);
        """,
        // Alerts (Alerts/): one row per episode of a rule on a subject (firing until resolved), and
        // the notification outbox: every message is written before it is sent, so a crash or a
        // channel that stays down leaves it here (pending or dead) for the next start or a replay.
        // IF NOT EXISTS: a folder rewound to an older schema version by a test or a tool may keep them.
        """
        CREATE TABLE IF NOT EXISTS alerts (
            alert_id          TEXT PRIMARY KEY,       -- alr_<time>_<hex>
            rule              TEXT NOT NULL,
            subject           TEXT NOT NULL,          -- what fired within the rule ('' for the rule as a whole)
            severity          TEXT NOT NULL,
            state             TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
            started_at        TEXT NOT NULL,          -- ISO 8601 UTC
            resolved_at       TEXT,
            value             REAL,
            threshold         REAL,
            scope             TEXT NOT NULL,          -- JSON object: dimension -> values ({} = platform-wide)
            message           TEXT NOT NULL,
            acked_at          TEXT,
            acked_by          TEXT,
            last_notified_at  TEXT
        );
        CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_firing ON alerts (rule, subject) WHERE state = 'firing';
        CREATE INDEX IF NOT EXISTS alerts_by_start ON alerts (started_at);

        CREATE TABLE IF NOT EXISTS notification_outbox (
            id               INTEGER PRIMARY KEY,
            channel          TEXT NOT NULL,
            alert_id         TEXT,
            notification     TEXT NOT NULL,          -- JSON of the Notification (never a secret)
            created_at       TEXT NOT NULL,
            state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
            attempts         INTEGER NOT NULL DEFAULT 0,
            last_error       TEXT,
            sent_at          TEXT
        );
        CREATE INDEX IF NOT EXISTS notification_outbox_by_state ON notification_outbox (state, id);
        """,
        // Service-level objectives (Slo/): per UTC hour and objective, how many events were good out
        // of how many (requests answered without 5xx, within the latency limit, minutes with fresh marts).
        """
        CREATE TABLE IF NOT EXISTS slo_hours (
            hour   TEXT NOT NULL,                    -- yyyy-MM-ddTHH (UTC)
            slo    TEXT NOT NULL,
            good   INTEGER NOT NULL,
            total  INTEGER NOT NULL,
            PRIMARY KEY (hour, slo)
        ) WITHOUT ROWID;
        """,
        // Issue 12 (money that reconciles): the D+1 marts carry the order ledger's cancellations and
        // net GMV, stock, and the customer KPIs. Rows built before hold NULL there until a backfill
        // (their kpi_versions say which definitions they were built with).
        """
        ALTER TABLE daily_metrics ADD COLUMN cancelled_orders INTEGER;
        ALTER TABLE daily_metrics ADD COLUMN cancelled_gmv REAL;
        ALTER TABLE daily_metrics ADD COLUMN net_gmv REAL;
        ALTER TABLE daily_metrics ADD COLUMN stock_available INTEGER;
        ALTER TABLE daily_metrics ADD COLUMN sell_through_rate REAL;
        ALTER TABLE customer_metrics ADD COLUMN customers INTEGER;
        ALTER TABLE customer_metrics ADD COLUMN repeat_customer_rate REAL;
        ALTER TABLE customer_metrics ADD COLUMN customer_churn_rate REAL;
        """,
        // Quarantine bound (docs/collector.md): a request's rejected events past the first
        // QuarantinePerRequest, or past its source's hourly budget, are counted here instead of
        // being stored one row each in failed_events. IF NOT EXISTS: a folder rewound to an older
        // schema version (BlockCodecTests does) replays this step over the table it already has.
        """
        CREATE TABLE IF NOT EXISTS quarantine_overflow (
            received_at   INTEGER NOT NULL,
            source_system TEXT NOT NULL,
            rejected      INTEGER NOT NULL,
            kept          INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS quarantine_overflow_by_time ON quarantine_overflow (received_at);
        """,
        // Tokens may expire (`tokens create --expires`, POST /api/tokens expires_at); NULL never expires.
        """
        ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
        """,
        // Figures that know their own health (Quality/FigureHealth): the profile pass also counts the
        // events of each country (context.country, the store's when it names one) per day and type,
        // with the newest receive time, for the per-country freshness and volume checks; a finding
        // may name the country it is about and the instant its subject went quiet (ISO 8601 UTC).
        """
        CREATE TABLE IF NOT EXISTS dq_country_profile (
            day              TEXT NOT NULL,
            country          TEXT NOT NULL,
            event_type       TEXT NOT NULL,
            events           INTEGER NOT NULL,
            last_received_at INTEGER NOT NULL,          -- unix ms
            PRIMARY KEY (day, country, event_type)
        ) WITHOUT ROWID;
        ALTER TABLE dq_results ADD COLUMN country TEXT;
        ALTER TABLE dq_results ADD COLUMN since TEXT;
        -- Issue 15: the currency a connector's money row is in (ad spend in the ad account's
        -- currency), converted to the reporting currency when read; NULL: the reporting currency.
        ALTER TABLE fact_kpi_daily ADD COLUMN currency TEXT;
        """,
        // Privacy (Privacy/, docs/privacy.md): erasure requests with the hashes of the ids they erased
        // (a repeated request is answered, not re-run), and the one sanctioned rewrite of raw blocks:
        // inside its own transaction an erasure names the block it rewrites (rewriting_block), which
        // lets exactly that block's events column change; anything else still aborts. One small
        // table (a single page while it is small: hubs may run on a bounded database).
        """
        CREATE TABLE IF NOT EXISTS privacy_erasures (
            erasure_id      TEXT PRIMARY KEY,       -- era_<hex>
            person_hash     TEXT NOT NULL,          -- sha256:<hex> of the id asked for; never the id
            id_hashes       TEXT NOT NULL DEFAULT '', -- sha256:<hex> of every id it erased, space-separated
            requested_at    TEXT NOT NULL,          -- ISO 8601 UTC
            completed_at    TEXT,
            state           TEXT NOT NULL CHECK (state IN ('pending', 'done')),
            cut_seq         INTEGER NOT NULL,       -- blocks after it are searched again when it completes
            plan            TEXT,                   -- JSON while pending (ids, pseudonyms, blocks); NULL once done
            events          INTEGER NOT NULL DEFAULT 0,
            blocks          INTEGER NOT NULL DEFAULT 0,
            rewriting_block INTEGER                 -- set only inside an erasure's transaction
        ) WITHOUT ROWID;
        DROP TRIGGER IF EXISTS event_blocks_no_update;
        CREATE TRIGGER event_blocks_no_update BEFORE UPDATE ON event_blocks
            WHEN NOT EXISTS (SELECT 1 FROM privacy_erasures WHERE rewriting_block = OLD.block_id)
            BEGIN SELECT RAISE(ABORT, 'raw events are append-only'); END;
        CREATE TRIGGER IF NOT EXISTS event_blocks_erasure_keeps_ids
            BEFORE UPDATE OF block_id, first_seq, event_count, received_at, min_timestamp, max_timestamp, source_system, id_hashes ON event_blocks
            WHEN EXISTS (SELECT 1 FROM privacy_erasures WHERE rewriting_block = OLD.block_id)
            BEGIN SELECT RAISE(ABORT, 'an erasure rewrites only the events of a block'); END;
        """,
        // Readers that walk the log in order (the KPI replay after a snapshot, the recommendation
        // model's history, the data-quality profile) ask for blocks ORDER BY first_seq. Without an
        // index SQLite copied every matching row, its events blob included, into a temporary
        // b-tree to sort it before handing back the first: the model's history read copied the
        // whole log (1.5 GB at 10M events, 12 s of CPU before its first row, a stop waiting for
        // it) and the replay after a crash every block after the snapshot (docs/benchmarks.md,
        // "The log read in order"). One entry per block, not per event.
        """
        CREATE INDEX IF NOT EXISTS event_blocks_by_seq ON event_blocks (first_seq);
        """,
    ];

    /// <summary>Brings the schema up to <paramref name="upTo"/> (default: the newest); tests build old schemas with it.</summary>
    public static void Apply(SqliteConnection connection, int? upTo = null)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        var current = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (current > Steps.Length)
        {
            throw new InvalidOperationException(
                $"The data folder was written by a newer Atalaya (schema {current}, this build knows {Steps.Length}). Upgrade Atalaya.");
        }
        for (var version = current + 1; version <= Math.Min(upTo ?? Steps.Length, Steps.Length); version++)
        {
            command.CommandText = Steps[version - 1];
            command.ExecuteNonQuery();
            command.CommandText = $"PRAGMA user_version = {version};";
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }
}
