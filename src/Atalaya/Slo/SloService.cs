using System.Diagnostics;
using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Slo;
using Atalaya.Http;
using Atalaya.Metrics;

namespace Atalaya.Slo;

/// <summary>
/// Every minute: adds the request counts to <c>slo_hours</c> and judges the minute for KPI
/// freshness. Every 30 minutes (seed 003's query-performance probe): times the common reads
/// (today's summary, a 30-day daily query) and logs any slower than 500 ms; the timings are also in
/// /metrics as atalaya_probe_query_seconds.
/// </summary>
public sealed class SloService(HubState state, ServeOptions options, SloRecorder recorder, Metrics.HubMetrics metrics, ILogger<SloService> logger) : BackgroundService
{
    public static readonly TimeSpan ProbeEvery = TimeSpan.FromMinutes(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hub = await state.OpenedAsync(stoppingToken);
        var time = options.Time;
        var lastProbe = DateTimeOffset.MinValue;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                try
                {
                    var last = hub.Jobs.Runs.Query(new RunFilter(Job: "daily_batch", Status: RunStatus.Success, Limit: 1));
                    recorder.Count(SloObjectives.KpiFreshness, last is [var run] && now - (run.EndTime ?? run.StartTime) <= SloObjectives.MartMaxAge);
                    recorder.SaveTo(hub.SloRows);
                    if (now - lastProbe >= ProbeEvery)
                    {
                        lastProbe = now;
                        Probe(hub);
                    }
                }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or Engine.Postgres.StateUnavailableException)
                {
                    logger.LogWarning("SLO counters not saved this minute: {Error}", e.Message);
                }
                await Task.Delay(TimeSpan.FromMinutes(1), time, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        try
        {
            recorder.SaveTo(hub.SloRows);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or Engine.Postgres.StateUnavailableException)
        {
            logger.LogWarning("SLO counters of the last minute not saved at shutdown: {Error}", e.Message);
        }
    }

    /// <summary>Times the reads people make most and flags those slower than the read objective.</summary>
    public void Probe(Engine.Hub hub)
    {
        var today = hub.Kpis.Today(TimeZoneInfo.Utc);
        var probes = new (string Name, Action Run)[]
        {
            ("summary_today", () => hub.Kpis.Summary([KpiId.Gmv, KpiId.Orders, KpiId.Revenue, KpiId.Leads, KpiId.PaymentsSuccessRate], DimensionFilter.None, TimeZoneInfo.Utc, AccessScope.Everything)),
            ("daily_30d_by_country", () => hub.Kpis.Query(new KpiQuery([KpiId.Gmv, KpiId.Orders], today.AddDays(-29), today, Aggregate.Daily, TimeZoneInfo.Utc, DimensionFilter.None, [Dimension.Country], AccessScope.Everything))),
        };
        foreach (var (name, run) in probes)
        {
            var started = Stopwatch.GetTimestamp();
            run();
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            metrics.RecordProbe(name, seconds);
            if (seconds > SloObjectives.ReadLimit.TotalSeconds)
            {
                logger.LogWarning("Slow query ({Query}): {Milliseconds} ms, over the {Limit} ms read objective", name, (int)(seconds * 1000), (int)SloObjectives.ReadLimit.TotalMilliseconds);
            }
        }
    }
}
