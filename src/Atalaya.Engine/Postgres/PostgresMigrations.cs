namespace Atalaya.Engine.Postgres;

/// <summary>
/// The PostgreSQL schema, step by step: <c>schema_version</c> records the steps applied, and
/// <see cref="PostgresState.Open"/> applies the rest. Append new steps at the end; never edit one a
/// database may already have applied.
/// </summary>
internal static class PostgresMigrations
{
    public static IReadOnlyList<string> Steps { get; } =
    [
        // 1: tokens, as the data folder's `tokens` table (Storage/Migrations.cs): the same columns and
        // meanings, times as unix milliseconds, scope lists comma-separated, the secret only as its
        // SHA-256 hash.
        """
        CREATE TABLE tokens (
            id            text PRIMARY KEY,
            name          text NOT NULL,
            role          text NOT NULL,
            countries     text NOT NULL DEFAULT '',
            hubs          text NOT NULL DEFAULT '',
            zones         text NOT NULL DEFAULT '',
            stores        text NOT NULL DEFAULT '',
            source        text,
            secret_hash   bytea NOT NULL UNIQUE,
            created_at    bigint NOT NULL,
            last_used_at  bigint,
            revoked_at    bigint,
            expires_at    bigint
        );
        """,

        // Jobs on a cluster (docs/scale-out.md, "Jobs on a cluster"): pipeline_runs as the data
        // folder's table (Storage/Migrations.cs), times as ISO 8601 UTC text that sorts as time (the
        // "C" collation compares it byte by byte); job_locks says who holds each job lock, for the
        // message of a run refused (the lock itself is an advisory lock, not this row).
        """
        CREATE TABLE pipeline_runs (
            run_id          text COLLATE "C" PRIMARY KEY,
            job             text NOT NULL,
            source_system   text NOT NULL,
            start_time      text COLLATE "C" NOT NULL,
            end_time        text COLLATE "C",
            status          text NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failed')),
            records_written bigint NOT NULL DEFAULT 0,
            error_message   text,
            trigger         text NOT NULL,
            details         text NOT NULL DEFAULT '{}',
            error_class     text CHECK (error_class IN ('transient', 'auth', 'quota', 'schema'))
        );
        CREATE INDEX pipeline_runs_by_job ON pipeline_runs (job, start_time);
        CREATE INDEX pipeline_runs_by_time ON pipeline_runs (start_time);
        CREATE TABLE job_locks (
            name   text PRIMARY KEY,
            holder text NOT NULL
        );
        """,

        // The cluster's one hash-chained audit log (AuditLog, PostgresAuditRows): the data folder's
        // `audit_log` (Storage/Migrations.cs) column for column, so one verification reads both;
        // times as unix milliseconds. Append-only, as there: a trigger refuses UPDATE and DELETE.
        """
        CREATE TABLE audit_log (
            seq        bigint PRIMARY KEY,
            at         bigint NOT NULL,
            actor      text NOT NULL,
            role       text NOT NULL,
            action     text NOT NULL,
            params     text NOT NULL,
            scope      text NOT NULL,
            injected   text NOT NULL,
            rows       integer NOT NULL,
            status     integer NOT NULL,
            prev_hash  bytea NOT NULL,
            hash       bytea NOT NULL
        );
        CREATE INDEX audit_log_by_time ON audit_log (at);
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the audit log is append-only'; END;
        $$;
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
        """,

        // Stored reports on a cluster (Reports/ReportRows.cs): `reports` as the data folder's table
        // (Storage/Migrations.cs) column for column, and the file itself in report_files, so every
        // node lists and serves the report another node's job built. "C" collation: ids and kinds
        // sort byte by byte, as in SQLite.
        """
        CREATE TABLE reports (
            report_id    text COLLATE "C" PRIMARY KEY,
            kind         text COLLATE "C" NOT NULL CHECK (kind IN ('daily', 'weekly', 'monthly')),
            period_start text NOT NULL,
            period_end   text COLLATE "C" NOT NULL,
            scope_kind   text NOT NULL CHECK (scope_kind IN ('all', 'store', 'country')),
            scope_value  text NOT NULL,
            locale       text NOT NULL,
            file_name    text NOT NULL,
            content_type text NOT NULL,
            bytes        bigint NOT NULL,
            sha256       text NOT NULL,
            created_at   text NOT NULL,
            run_id       text
        );
        CREATE INDEX reports_by_period ON reports (period_end);
        CREATE TABLE report_files (
            report_id text COLLATE "C" PRIMARY KEY REFERENCES reports (report_id) ON DELETE CASCADE,
            content   bytea NOT NULL
        );
        """,

        // Quality findings on a cluster (Quality/QualityRows.cs): `dq_results` as the data folder's
        // table (Storage/Migrations.cs) column for column, so the dq_health run made on one node is
        // read on every node. Times as ISO 8601 UTC text in the "C" collation, which sorts as time.
        """
        CREATE TABLE dq_results (
            run_id      text COLLATE "C" NOT NULL,
            checked_at  text COLLATE "C" NOT NULL,
            check_name  text COLLATE "C" NOT NULL,
            subject     text COLLATE "C" NOT NULL,
            status      text NOT NULL CHECK (status IN ('ok', 'warn', 'fail', 'skipped')),
            value       double precision,
            warn_at     double precision,
            fail_at     double precision,
            unit        text NOT NULL,
            message     text NOT NULL,
            country     text,
            since       text,
            PRIMARY KEY (run_id, check_name, subject)
        );
        CREATE INDEX dq_results_by_time ON dq_results (checked_at);
        """,

        // Refused events on a cluster (Cluster/SharedQuarantine.cs): failed_events and
        // quarantine_overflow as the data folder's tables (Storage/Migrations.cs), times as unix
        // milliseconds; quarantine_budget counts each source's rows stored in a clock hour (hours
        // since the epoch), so the hourly bound holds across every node.
        """
        CREATE TABLE failed_events (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            received_at   bigint NOT NULL,
            source_system text NOT NULL,
            request_index integer NOT NULL,
            event_id      text,
            reason        text NOT NULL,
            errors        text NOT NULL,
            payload       text NOT NULL
        );
        CREATE INDEX failed_events_by_time ON failed_events (received_at);
        CREATE TABLE quarantine_overflow (
            received_at   bigint NOT NULL,
            source_system text NOT NULL,
            rejected      integer NOT NULL,
            kept          integer NOT NULL
        );
        CREATE INDEX quarantine_overflow_by_time ON quarantine_overflow (received_at);
        CREATE TABLE quarantine_budget (
            source_system text NOT NULL,
            hour          bigint NOT NULL,
            used          integer NOT NULL,
            PRIMARY KEY (source_system, hour)
        );
        """,

        // Alerts on a cluster (docs/scale-out.md, "Audit and alerts on a cluster"): the data folder's
        // `alerts`, `notification_outbox` and `slo_hours` (Storage/Migrations.cs) column for column,
        // times as ISO 8601 UTC text that sorts as time (the "C" collation compares it byte by byte).
        // At most one firing row per (rule, subject); SLO counts are added to by every node.
        """
        CREATE TABLE alerts (
            alert_id          text COLLATE "C" PRIMARY KEY,
            rule              text NOT NULL,
            subject           text NOT NULL,
            severity          text NOT NULL,
            state             text NOT NULL CHECK (state IN ('firing', 'resolved')),
            started_at        text COLLATE "C" NOT NULL,
            resolved_at       text COLLATE "C",
            value             double precision,
            threshold         double precision,
            scope             text NOT NULL,
            message           text NOT NULL,
            acked_at          text COLLATE "C",
            acked_by          text,
            last_notified_at  text COLLATE "C"
        );
        CREATE UNIQUE INDEX alerts_one_firing ON alerts (rule, subject) WHERE state = 'firing';
        CREATE INDEX alerts_by_start ON alerts (started_at);
        CREATE TABLE notification_outbox (
            id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            channel       text NOT NULL,
            alert_id      text,
            notification  text NOT NULL,
            created_at    text COLLATE "C" NOT NULL,
            state         text NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
            attempts      integer NOT NULL DEFAULT 0,
            last_error    text,
            sent_at       text COLLATE "C"
        );
        CREATE INDEX notification_outbox_by_state ON notification_outbox (state, id);
        CREATE TABLE slo_hours (
            hour   text COLLATE "C" NOT NULL,
            slo    text NOT NULL,
            good   bigint NOT NULL,
            total  bigint NOT NULL,
            PRIMARY KEY (hour, slo)
        );
        """,

        // The marts on a cluster (Jobs/Marts, docs/scale-out.md "Marts on a cluster"): the data folder's
        // tables (Storage/Migrations.cs, with its later columns) column for column and in the same
        // order; INTEGER as bigint, REAL as double precision, days as 'yyyy-MM-dd' text that sorts as
        // time. mart_state.through_seq holds the cluster's event position (ClickHouse insert time).
        """
        CREATE TABLE mart_state (
            mart        text PRIMARY KEY,
            through_seq bigint NOT NULL,
            through_day text COLLATE "C" NOT NULL
        );
        CREATE TABLE daily_metrics (
            date text COLLATE "C" NOT NULL, store_id text NOT NULL, country text NOT NULL, hub text NOT NULL, zone text NOT NULL, category text NOT NULL,
            gmv double precision, orders bigint, aov double precision, units_sold bigint, delivered_gmv double precision, delivered_orders bigint,
            commissions double precision, refunds double precision, revenue double precision, payments_success_rate double precision, leads bigint, conversion_pct double precision,
            visitors bigint, sessions bigint, pageviews bigint, store_visits bigint, bounce_rate double precision, conversion_rate double precision,
            kpi_versions text NOT NULL, run_id text NOT NULL,
            cancelled_orders bigint, cancelled_gmv double precision, net_gmv double precision, stock_available bigint, sell_through_rate double precision,
            PRIMARY KEY (date, store_id, country, hub, zone, category)
        );
        CREATE TABLE product_metrics (
            date text COLLATE "C" NOT NULL, product_id text NOT NULL, store_id text NOT NULL, product_name text,
            views bigint NOT NULL, add_to_carts bigint NOT NULL, units bigint NOT NULL, revenue double precision NOT NULL,
            orders bigint NOT NULL, conversion_pct double precision,
            kpi_versions text NOT NULL, run_id text NOT NULL,
            PRIMARY KEY (date, product_id, store_id)
        );
        CREATE TABLE customer_metrics (
            date text COLLATE "C" NOT NULL, store_id text NOT NULL, country text NOT NULL,
            orders bigint, gmv double precision, aov double precision, new_customers bigint, returning_customers bigint, ltv double precision,
            kpi_versions text NOT NULL, run_id text NOT NULL,
            customers bigint, repeat_customer_rate double precision, customer_churn_rate double precision,
            PRIMARY KEY (date, store_id, country)
        );
        CREATE TABLE traffic_metrics (
            date text COLLATE "C" NOT NULL, country text NOT NULL, source text NOT NULL, platform text NOT NULL,
            visitors bigint, sessions bigint, pageviews bigint, store_visits bigint, bounce_rate double precision,
            avg_session_duration_s double precision, conversion_rate double precision, add_to_cart_rate double precision, cart_abandonment_rate double precision,
            checkout_completion_rate double precision,
            kpi_versions text NOT NULL, run_id text NOT NULL,
            PRIMARY KEY (date, country, source, platform)
        );
        CREATE TABLE fact_kpi_daily (
            date text COLLATE "C" NOT NULL, app_id text NOT NULL, platform text NOT NULL, source_system text NOT NULL, metric text NOT NULL,
            value double precision, kpi_version bigint NOT NULL, run_id text NOT NULL,
            currency text,
            PRIMARY KEY (date, app_id, platform, source_system, metric)
        );
        """,

        // The connectors' and webhooks' own state on a cluster (Connectors/ConnectorRows.cs,
        // Webhooks/WebhookInbox.cs): connector_pages, webhook_inbox and dead_letters as the data
        // folder's tables (Storage/Migrations.cs) column for column, days and times as text in the
        // "C" collation, which sorts as time. Pages and bodies are append-only, as there.
        """
        CREATE TABLE connector_pages (
            page_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id       text NOT NULL,
            provider     text NOT NULL,
            account      text NOT NULL,
            from_day     text COLLATE "C" NOT NULL,
            to_day       text COLLATE "C" NOT NULL,
            page_no      integer NOT NULL,
            fetched_at   text COLLATE "C" NOT NULL,
            http_status  integer NOT NULL,
            request      text NOT NULL,
            content_type text,
            body         bytea NOT NULL
        );
        CREATE INDEX connector_pages_by_unit ON connector_pages (provider, account, run_id, page_no);
        CREATE FUNCTION connector_pages_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'raw connector pages are append-only'; END;
        $$;
        CREATE TRIGGER connector_pages_append_only BEFORE UPDATE OR DELETE ON connector_pages
            FOR EACH ROW EXECUTE FUNCTION connector_pages_append_only();
        CREATE TRIGGER connector_pages_no_truncate BEFORE TRUNCATE ON connector_pages
            FOR EACH STATEMENT EXECUTE FUNCTION connector_pages_append_only();

        CREATE TABLE webhook_inbox (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            provider     text NOT NULL,
            received_at  text COLLATE "C" NOT NULL,
            signed_at    bigint NOT NULL,
            signature    text NOT NULL,
            body         bytea NOT NULL,
            status       text NOT NULL CHECK (status IN ('stored', 'mapped', 'dead')),
            events       integer NOT NULL DEFAULT 0,
            UNIQUE (provider, signature)
        );
        CREATE FUNCTION webhook_inbox_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'webhook bodies are append-only'; END;
        $$;
        CREATE TRIGGER webhook_inbox_keep_body BEFORE UPDATE OF provider, received_at, signed_at, signature, body ON webhook_inbox
            FOR EACH ROW EXECUTE FUNCTION webhook_inbox_append_only();
        CREATE TRIGGER webhook_inbox_no_delete BEFORE DELETE ON webhook_inbox
            FOR EACH ROW EXECUTE FUNCTION webhook_inbox_append_only();
        CREATE TRIGGER webhook_inbox_no_truncate BEFORE TRUNCATE ON webhook_inbox
            FOR EACH STATEMENT EXECUTE FUNCTION webhook_inbox_append_only();

        CREATE TABLE dead_letters (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind         text NOT NULL CHECK (kind IN ('connector', 'webhook')),
            provider     text NOT NULL,
            account      text NOT NULL DEFAULT '',
            day          text COLLATE "C",
            run_id       text,
            webhook_id   bigint,
            error_class  text NOT NULL,
            reason       text NOT NULL,
            created_at   text COLLATE "C" NOT NULL,
            resolved_at  text COLLATE "C",
            resolved_by  text
        );
        CREATE INDEX dead_letters_open ON dead_letters (kind, provider, resolved_at);
        """,

        // Erasures on a cluster (Privacy/ClusterErasure.cs, docs/privacy.md): the data folder's
        // privacy_erasures (Storage/Migrations.cs) column for column, less the block being rewritten
        // (a cluster rewrites ClickHouse rows, not blocks): the plan is recorded here before anything
        // changes, so every node knows "erased before" and any node finishes a pending plan.
        """
        CREATE TABLE privacy_erasures (
            erasure_id   text PRIMARY KEY,
            person_hash  text NOT NULL,
            id_hashes    text NOT NULL DEFAULT '',
            requested_at text COLLATE "C" NOT NULL,
            completed_at text COLLATE "C",
            state        text NOT NULL CHECK (state IN ('pending', 'done')),
            cut_seq      bigint NOT NULL,
            plan         text,
            events       bigint NOT NULL DEFAULT 0,
            blocks       bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX privacy_erasures_by_state ON privacy_erasures (state);
        """,

        // The daily exchange rates (Collect/FxRateRows.cs): the data folder's fx_rates (Storage/Migrations.cs)
        // column for column, so that every collector of a cluster freezes the same rate into an event
        // and every node converts connector spend alike.
        """
        CREATE TABLE fx_rates (
            day      text COLLATE "C" NOT NULL,
            currency text COLLATE "C" NOT NULL,
            rate     text NOT NULL,
            PRIMARY KEY (day, currency)
        );
        """,
    ];
}
