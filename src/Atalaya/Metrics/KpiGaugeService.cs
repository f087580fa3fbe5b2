using Atalaya.Http;

namespace Atalaya.Metrics;

/// <summary>
/// Recomputes the /metrics KPI gauges every <see cref="ServeOptions.KpiGaugeInterval"/> once the hub is
/// open, so a Prometheus scrape only reads them (see <see cref="HubMetrics"/>). A failed computation is
/// logged and retried on the next tick; the gauges keep their last values meanwhile.
/// </summary>
public sealed class KpiGaugeService(HubState state, ServeOptions options, HubMetrics metrics, ILogger<KpiGaugeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hub = await state.OpenedAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Run(() => metrics.RefreshKpis(hub, options.Time.GetUtcNow()), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "The /metrics KPI gauges could not be recomputed; they keep their last values");
            }
            await Task.Delay(options.KpiGaugeInterval, options.Time, stoppingToken);
        }
    }
}
