using Atalaya.Http;

namespace Atalaya.Recommendations;

/// <summary>
/// Inside <c>serve</c>: once the hub is open, reads the last year of stored events into the
/// recommendation model and wakes its follower, so every later commit updates it as it is
/// acknowledged. Runs beside the server: until it is done the endpoint answers 503 with Retry-After.
/// On shutdown it stops the follower before the hub closes.
/// </summary>
public sealed class RecommendationLoader(HubState state, ILogger<RecommendationLoader> logger) : BackgroundService
{
    /// <summary>Older behaviour says little about what sells now, and bounds the start-up read.</summary>
    public static readonly TimeSpan History = TimeSpan.FromDays(365);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hub = await state.OpenedAsync(stoppingToken);
        var started = System.Diagnostics.Stopwatch.StartNew();
        long events;
        try
        {
            events = await Task.Run(() =>
            {
                using var connection = hub.Database.Connect();
                return hub.Recommendations.Start(connection, History, stoppingToken);
            }, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        var size = hub.Recommendations.Size();
        logger.LogInformation("Recommendations ready: {Events} stored events read in {Elapsed} ms; {Products} products, about {Megabytes:F1} MB",
            events, started.ElapsedMilliseconds, size.Products, size.EstimatedBytes / 1048576.0);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (state.Current is { } hub)
        {
            await hub.Recommendations.StopAsync();
        }
    }
}
