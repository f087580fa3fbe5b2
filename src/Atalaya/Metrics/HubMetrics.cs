using System.Diagnostics;
using Atalaya.Engine.Access;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Quality;
using Atalaya.Hosting;
using Prometheus;

namespace Atalaya.Metrics;

/// <summary>
/// The hub's Prometheus metrics (prometheus-net, one registry per hub so tests can run several in
/// one process). Request counts and latencies are recorded as requests finish; the figures that
/// live in the hub (ingest totals, today's KPIs, pipeline runs, quality, alerts, freshness) are read
/// when Prometheus scrapes, so a scrape always shows the current state and costs nothing between scrapes.
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
    private readonly Gauge _pipelineSuccess;
    private readonly Gauge _qualityFailing;
    private readonly Gauge _alertsFiring;
    private readonly Gauge _freshness;
    private readonly Gauge _deadLetters;
    private readonly Gauge _circuitOpen;

    public HubMetrics(HubState state, ServeOptions options)
    {
        _state = state;
        _options = options;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _ingested = factory.CreateCounter("atalaya_events_ingested_total", "Events the collector received, by write-key source and outcome (accepted, duplicate, rejected).", "source", "outcome");
        _requests = factory.CreateCounter("atalaya_http_requests_total", "HTTP requests answered, by route pattern and status code.", "route", "code");
        _duration = factory.CreateHistogram("atalaya_http_request_duration_seconds", "Time to answer an HTTP request, by route pattern. For /api/events this is ingest-to-visible: an event is in every figure when its 2xx is sent.",
            new HistogramConfiguration { LabelNames = ["route"], Buckets = LatencyBuckets });
        _kpiToday = factory.CreateGauge("atalaya_kpi_today", "The platform's KPI for the current UTC day so far.", "kpi");
        _pipelineSuccess = factory.CreateGauge("atalaya_pipeline_last_success_timestamp_seconds", "When each job last finished successfully (unix seconds).", "job");
        _qualityFailing = factory.CreateGauge("atalaya_quality_check_failing", "Subjects failing each data-quality check in the newest dq_health run.", "check");
        _alertsFiring = factory.CreateGauge("atalaya_alerts_firing", "Alerts of the hub's own rules currently firing, by severity.", "severity");
        _freshness = factory.CreateGauge("atalaya_event_freshness_seconds", "Seconds since the collector last stored an event.");
        _deadLetters = factory.CreateGauge("atalaya_notifications_dead_letters", "Notifications that could not be delivered, waiting for `atalaya notifications replay`.");
        _circuitOpen = factory.CreateGauge("atalaya_notification_circuit_open", "1 while a notification channel's circuit breaker is open (or half-open).", "channel");
        Registry.AddBeforeCollectCallback(Refresh);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Set by the alert service once it runs (circuit states).</summary>
    public NotificationDispatcher? Dispatcher { get; set; }

    public void RecordRequest(string route, int status, double seconds)
    {
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
        foreach (var row in hub.Kpis.Summary(TodayKpis, DimensionFilter.None, TimeZoneInfo.Utc, AccessScope.Everything))
        {
            _kpiToday.WithLabels(KpiIds.Name(row.Metric)).Set(row.Today ?? double.NaN);
        }
        using var connection = hub.Database.Connect();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT job, MAX(COALESCE(end_time, start_time)) FROM pipeline_runs WHERE status = 'success' GROUP BY job;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                _pipelineSuccess.WithLabels(reader.GetString(0)).Set(AlertStore.Time(reader.GetString(1)).ToUnixTimeMilliseconds() / 1000.0);
            }
        }
        var failing = QualityResults.Checks.ToDictionary(c => c, _ => 0, StringComparer.Ordinal);
        if (QualityResults.LatestRun(hub.Database) is { } run)
        {
            foreach (var r in QualityResults.Read(hub.Database, run).Where(r => r.Status == QualityStatus.Fail))
            {
                failing[r.Check] = failing.GetValueOrDefault(r.Check) + 1;
            }
        }
        foreach (var (check, count) in failing)
        {
            _qualityFailing.WithLabels(check).Set(count);
        }
        foreach (var (severity, count) in AlertStore.FiringBySeverity(connection))
        {
            _alertsFiring.WithLabels(severity).Set(count);
        }
        using (var command = connection.CreateCommand())
        {
            // The newest block is the last received: its rowid is the largest, so this reads one row.
            command.CommandText = "SELECT received_at FROM event_blocks ORDER BY block_id DESC LIMIT 1;";
            _freshness.Set(command.ExecuteScalar() is long receivedMs ? Math.Max(0, (now.ToUnixTimeMilliseconds() - receivedMs) / 1000.0) : double.NaN);
        }
        _deadLetters.Set(NotificationOutbox.Count(connection, "dead"));
        if (Dispatcher is { } dispatcher)
        {
            foreach (var channel in dispatcher.ChannelNames)
            {
                _circuitOpen.WithLabels(channel).Set(dispatcher.Circuit(channel) is Polly.CircuitBreaker.CircuitState.Closed ? 0 : 1);
            }
        }
    }

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
                metrics.RecordRequest(route, status, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        });
    }
}
