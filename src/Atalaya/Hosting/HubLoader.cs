using Atalaya.Engine;

namespace Atalaya.Hosting;

/// <summary>
/// Opens the hub after the server starts listening (so /healthz answers during a long index
/// load), every 10 s flushes token last-used times and re-reads the FX rates (imported by
/// <c>atalaya fx import</c> from another process), snapshots the KPI projection (every 5 minutes
/// when events arrived, sooner after 500,000 new events) so a restart is fast, and closes the hub
/// cleanly on shutdown.
/// </summary>
public sealed class HubLoader(HubState state, ServeOptions options, ILogger<HubLoader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var hub = await Task.Run(() => Hub.Open(options.DataDirectory, options.Ingest, options.Time, options.MaxPageCount), stoppingToken);
        state.Set(hub);
        logger.LogInformation("Hub ready: {Events} events in {DataDirectory}, loaded in {Elapsed} ms",
            hub.Log.EventCount, hub.Database.DataDirectory, started.ElapsedMilliseconds);
        if (hub.Kpis.SnapshotProblem is { } problem)
        {
            logger.LogWarning("KPI projection: {Problem}", problem);
        }
        var lastSnapshot = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), stoppingToken);
                hub.Tokens.FlushLastUsed();
                using var connection = hub.Database.Connect();
                hub.Fx.Refresh(connection);
                if (hub.SaveSnapshotIfBehind(lastSnapshot.Elapsed >= TimeSpan.FromMinutes(5) ? 1 : 500_000))
                {
                    lastSnapshot.Restart();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (state.Current is { } hub)
        {
            await hub.DisposeAsync();
        }
    }
}
