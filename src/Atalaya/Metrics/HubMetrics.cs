using System.Diagnostics;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Quality;
using Atalaya.Http;
using Prometheus;

namespace Atalaya.Metrics;

/// <summary>
/// The hub's Prometheus metrics (prometheus-net, one registry per hub so tests can run several in
/// one process). Request counts and latencies are recorded as requests finish; the cheap figures that
/// live in the hub (ingest totals, pipeline runs, quality, alerts, freshness) are read when Prometheus
/// scrapes. The KPI gauges ask the KPI engine about 40 questions, which at 10M events cost more than
/// the 10 ms a scrape may take, so <see cref="KpiGaugeService"/> recomputes them every
/// <see cref="ServeOptions.KpiGaugeInterval"/> off the scrape path (the first scrape computes them if
/// the service has not yet): a scrape shows them at most that old.
/// </summary>
public sealed class HubMetrics
{
    /// <summary>KPIs exported as atalaya_kpi_today (the platform's figures for the current UTC day).</summary>
    public static readonly KpiId[] TodayKpis = [KpiId.Gmv, KpiId.Orders, KpiId.Revenue, KpiId.Leads, KpiId.PaymentsSuccessRate];

    /// <summary>Latency buckets in seconds: fine below 100 ms (reads and the collector) up to 10 s; 0.5 s is the read objective.</summary>
    public static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly HubState _state;
    private readonly ServeOptions _options;
    private readonly Counter _ingested;
    private readonly Counter _requests;
    private readonly Histogram _duration;
    private readonly Gauge _kpiToday;
    private readonly Gauge _kpiLast24h;
    private readonly Gauge _kpiAvg7d;
    private readonly Gauge _kpiLast24hByCountry;
    private readonly Gauge _kpiAvg7dByCountry;
    private readonly Gauge _pipelineSuccess;
    private readonly Gauge _qualityFailing;
    private readonly Gauge _alertsFiring;
    private readonly Gauge _alertEvaluator;
    private readonly Gauge _freshness;
    private readonly Gauge _deadLetters;
    private readonly Gauge _circuitOpen;
    private readonly Gauge _probe;
    private readonly Counter _clusterWritten;
    private readonly Counter _clusterLookupsSkipped;
    private readonly Counter _quarantineRowsLost;
    private readonly Gauge _clusterProjectionLag;
    private readonly Counter _clusterFeedMisses;
    private readonly Counter _clusterReloads;
    private readonly SloRecorder _slo;
    private readonly Lock _kpiGate = new();
    private Engine.Hub? _kpisComputedFor;

    public HubMetrics(HubState state, ServeOptions options, SloRecorder slo)
    {
        _slo = slo;
        _state = state;
        _options = options;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _ingested = factory.CreateCounter("atalaya_events_ingested_total", "Events the collector received, by write-key source and outcome (accepted, duplicate, rejected).", "source", "outcome");
        _requests = factory.CreateCounter("atalaya_http_requests_total", "HTTP requests answered, by route pattern and status code.", "route", "code");
        _duration = factory.CreateHistogram("atalaya_http_request_duration_seconds", "Time to answer an HTTP request, by route pattern. For /api/events this is ingest-to-visible: an event is in every figure when its 2xx is sent.",
            new HistogramConfiguration { LabelNames = ["route"], Buckets = LatencyBuckets });
        _kpiToday = factory.CreateGauge("atalaya_kpi_today", "The platform's KPI for the current UTC day so far.", "kpi");
        _kpiLast24h = factory.CreateGauge("atalaya_kpi_last24h", "The platform's KPI over the last 24 hours (rolling): fair to compare at any time of day.", "kpi");
        _kpiAvg7d = factory.CreateGauge("atalaya_kpi_last24h_avg7d", "The average of the same rolling 24 hours on each of the 7 days before (what atalaya_kpi_last24h is compared with).", "kpi");
        _kpiLast24hByCountry = factory.CreateGauge("atalaya_kpi_last24h_by_country", "Revenue and leads over the last 24 hours, by country (the 10 largest by revenue).", "kpi", "country");
        _kpiAvg7dByCountry = factory.CreateGauge("atalaya_kpi_last24h_avg7d_by_country", "Revenue and leads over the same 24 hours of the 7 days before, averaged, by country.", "kpi", "country");
        _pipelineSuccess = factory.CreateGauge("atalaya_pipeline_last_success_timestamp_seconds", "When each job last finished successfully (unix seconds).", "job");
        _qualityFailing = factory.CreateGauge("atalaya_quality_check_failing", "Subjects failing each data-quality check in the newest dq_health run.", "check");
        _alertsFiring = factory.CreateGauge("atalaya_alerts_firing", "Alerts of the hub's own rules currently firing, by severity (on a cluster with PostgreSQL, the cluster's, the same on every node).", "severity");
        _alertEvaluator = factory.CreateGauge("atalaya_alert_evaluator", "1 while this node evaluates the alert rules and sends their notifications (on a cluster with PostgreSQL one node at a time).");
        _freshness = factory.CreateGauge("atalaya_event_freshness_seconds", "Seconds since the collector last stored an event.");
        _deadLetters = factory.CreateGauge("atalaya_notifications_dead_letters", "Notifications that could not be delivered, waiting for `atalaya notifications replay` (on a cluster with PostgreSQL, the cluster's outbox).");
        _circuitOpen = factory.CreateGauge("atalaya_notification_circuit_open", "1 while a notification channel's circuit breaker is open (or half-open).", "channel");
        _clusterWritten = factory.CreateCounter("atalaya_cluster_events_written_total", "On a cluster node: events this node's writer handled, by outcome (inserted into ClickHouse, or duplicate: already there).", "outcome");
        _quarantineRowsLost = factory.CreateCounter("atalaya_quarantine_rows_lost_total",
            "On a cluster node with --postgres: rejected events answered as rejected whose quarantine rows could not be written (PostgreSQL was away).");
        _clusterLookupsSkipped = factory.CreateCounter("atalaya_cluster_duplicate_lookups_skipped_total", "On a cluster node: requests whose duplicate lookup in ClickHouse failed or timed out (their events were published; the writers dedupe them).");
        _clusterProjectionLag = factory.CreateGauge("atalaya_cluster_projection_lag_events", "On a cluster node: events ClickHouse holds (inserted more than 10 s ago) that this node's KPI projection lacks, checked every 30 s; above 0 for long, restart the node to reload it.");
        _clusterFeedMisses = factory.CreateCounter("atalaya_cluster_feed_misses_total", "On a cluster node: inserted batches this node's writer could not publish to the written-events exchange (every node's projection lacks them until it reloads).");
        _clusterReloads = factory.CreateCounter("atalaya_cluster_projection_reloads_total", "On a cluster node: times the node loaded its KPI projection from ClickHouse again because it lacked the same events three lag checks in a row (the feed had lost them).");
        _probe = factory.CreateGauge("atalaya_probe_query_seconds", "Duration of the query-performance probe's reads (every 30 minutes; the read objective is 0.5 s).", "query");
        Registry.AddBeforeCollectCallback(Refresh);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Set by the alert service once it runs (circuit states).</summary>
    public NotificationDispatcher? Dispatcher { get; set; }

    /// <summary>Set by the alert service each cycle: whether this node evaluated the rules.</summary>
    public void RecordAlertEvaluator(bool evaluating) => _alertEvaluator.Set(evaluating ? 1 : 0);

    public void RecordProbe(string query, double seconds) => _probe.WithLabels(query).Set(seconds);

    public void RecordRequest(string method, string route, int status, double seconds)
    {
        _slo.RecordRequest(method, route, status, seconds);
        _requests.WithLabels(route, StatusText(status)).Inc();
        _duration.WithLabels(route).Observe(seconds);
    }

    private static readonly string[] StatusTexts = [.. Enumerable.Range(0, 600).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static string StatusText(int status) => status is >= 0 and < 600 ? StatusTexts[status] : "other";

    /// <summary>Reads the hub's current figures into the gauges (called by the registry before each scrape).</summary>
    private void Refresh()
    {
        if (_state.Current is not { } hub)
        {
            return;
        }
        var now = _options.Time.GetUtcNow();
        foreach (var (source, accepted, duplicates, rejected) in hub.Pipeline.Counters.BySource())
        {
            _ingested.WithLabels(source, "accepted").IncTo(accepted);
            _ingested.WithLabels(source, "duplicate").IncTo(duplicates);
            _ingested.WithLabels(source, "rejected").IncTo(rejected);
        }
        if (hub.Cluster is { } cluster)
        {
            _clusterWritten.WithLabels("inserted").IncTo(cluster.Inserted);
            _clusterWritten.WithLabels("duplicate").IncTo(cluster.Duplicates);
            _clusterLookupsSkipped.IncTo(cluster.LookupsSkipped);
            _quarantineRowsLost.IncTo(cluster.QuarantineRowsLost);
            _clusterProjectionLag.Set(cluster.ProjectionLag);
            _clusterFeedMisses.IncTo(cluster.FeedMisses);
            _clusterReloads.IncTo(cluster.Reloads);
        }
        if (!ReferenceEquals(Volatile.Read(ref _kpisComputedFor), hub))
        {
            RefreshKpis(hub, now);
        }
        using var connection = hub.Database.Connect();
        // The runs of every node on a cluster with PostgreSQL, the data folder's otherwise.
        try
        {
            foreach (var (job, at) in hub.Jobs.Runs.LastSuccesses())
            {
                _pipelineSuccess.WithLabels(job).Set(at.ToUnixTimeMilliseconds() / 1000.0);
            }
        }
        catch (Engine.Postgres.StateUnavailableException)
        {
            // PostgreSQL away for a moment: the gauges keep the last values read, the scrape still answers.
        }
        try
        {
            // The newest run's findings: the cluster's on a node with PostgreSQL.
            var failing = QualityResults.Checks.ToDictionary(c => c, _ => 0, StringComparer.Ordinal);
            if (hub.QualityResults.LatestRun() is { } run)
            {
                foreach (var r in hub.QualityResults.Read(run).Where(r => r.Status == QualityStatus.Fail))
                {
                    failing[r.Check] = failing.GetValueOrDefault(r.Check) + 1;
                }
            }
            foreach (var (check, count) in failing)
            {
                _qualityFailing.WithLabels(check).Set(count);
            }
        }
        catch (Engine.Postgres.StateUnavailableException)
        {
            // As the run gauges above: the last values read stay, the scrape still answers.
        }
        using (var command = connection.CreateCommand())
        {
            // The newest block is the last received: its rowid is the largest, so this reads one row.
            command.CommandText = "SELECT received_at FROM event_blocks ORDER BY block_id DESC LIMIT 1;";
            _freshness.Set(command.ExecuteScalar() is long receivedMs ? Math.Max(0, (now.ToUnixTimeMilliseconds() - receivedMs) / 1000.0) : double.NaN);
        }
        // The cluster's alerts and outbox on a cluster with PostgreSQL, the data folder's otherwise.
        try
        {
            foreach (var (severity, count) in hub.AlertRows.FiringBySeverity())
            {
                _alertsFiring.WithLabels(severity).Set(count);
            }
            _deadLetters.Set(hub.AlertRows.OutboxCount("dead"));
        }
        catch (Engine.Postgres.StateUnavailableException)
        {
            // PostgreSQL away for a moment: the gauges keep the last values read, the scrape still answers.
        }
        if (Dispatcher is { } dispatcher)
        {
            foreach (var channel in dispatcher.ChannelNames)
            {
                _circuitOpen.WithLabels(channel).Set(dispatcher.Circuit(channel) is Polly.CircuitBreaker.CircuitState.Closed ? 0 : 1);
            }
        }
    }

    /// <summary>Segment series are exported for at most this many countries (the largest by revenue today).</summary>
    public const int MaxCountries = 10;

    /// <summary>Recomputes the KPI gauges (today, last 24 h, 7-day average, by country) as of <paramref name="now"/>.</summary>
    internal void RefreshKpis(Engine.Hub hub, DateTimeOffset now)
    {
        if (hub.Cluster is { Answering: false })
        {
            // A cluster node still loading its projection from ClickHouse: no gauge rather than partial figures.
            return;
        }
        // One computation at a time: a first scrape and the service's tick must not interleave their sets.
        lock (_kpiGate)
        {
            ComputeKpis(hub, now);
            Volatile.Write(ref _kpisComputedFor, hub);
        }
    }

    private void ComputeKpis(Engine.Hub hub, DateTimeOffset now)
    {
        const long Day = 86_400_000L;
        var end = now.ToUnixTimeMilliseconds();
        var midnight = end - (end % Day);
        // The last 24 hours, then the same 24 hours on each of the 7 days before (contiguous, oldest first).
        var rolling = Enumerable.Range(0, 8).Reverse().Select(d => (end - (d + 1) * Day, end - d * Day)).ToList();
        foreach (var kpi in TodayKpis)
        {
            var name = KpiIds.Name(kpi);
            var today = end > midnight ? hub.Kpis.Windows(kpi, [(midnight, end)], DimensionFilter.None, AccessScope.Everything)[0] : null;
            _kpiToday.WithLabels(name).Set(today ?? double.NaN);
            var values = hub.Kpis.Windows(kpi, rolling, DimensionFilter.None, AccessScope.Everything);
            _kpiLast24h.WithLabels(name).Set(values[^1] ?? double.NaN);
            _kpiAvg7d.WithLabels(name).Set(Average(values.Take(7)));
        }
        var day = hub.Kpis.Today(TimeZoneInfo.Utc);
        var byCountry = hub.Kpis.Query(new KpiQuery([KpiId.Revenue], day.AddDays(-1), day, Aggregate.Total, TimeZoneInfo.Utc, DimensionFilter.None, [Dimension.Country], AccessScope.Everything, int.MaxValue)).Rows;
        var countries = byCountry.Where(r => r.Group[0] is { Length: > 0 })
            .OrderByDescending(r => r.Value ?? 0).Select(r => r.Group[0]!).Take(MaxCountries).ToList();
        foreach (var country in countries)
        {
            var filter = new DimensionFilter(new Dictionary<Dimension, IReadOnlyList<string>> { [Dimension.Country] = [country] });
            foreach (var kpi in new[] { KpiId.Revenue, KpiId.Leads })
            {
                var values = hub.Kpis.Windows(kpi, rolling, filter, AccessScope.Everything);
                _kpiLast24hByCountry.WithLabels(KpiIds.Name(kpi), country).Set(values[^1] ?? 0);
                _kpiAvg7dByCountry.WithLabels(KpiIds.Name(kpi), country).Set(Average(values.Take(7)));
            }
        }
    }

    private static double Average(IEnumerable<double?> values) =>
        values.Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty(double.NaN).Average();

    /// <summary>Records every request's route, status and duration.</summary>
    public static void UseRequestMetrics(WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<HubMetrics>();
        app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            var status = 500;
            try
            {
                await next(context);
                status = context.Response.StatusCode;
            }
            finally
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                metrics.RecordRequest(context.Request.Method, route, status, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        });
    }
}
