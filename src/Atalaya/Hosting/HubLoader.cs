using Atalaya.Engine;
using Atalaya.Http;

namespace Atalaya.Hosting;

/// <summary>
/// Opens the hub after the server starts listening (so /healthz answers during a long index
/// load), every 10 s flushes token last-used times and re-reads the FX rates (imported by
/// <c>atalaya fx import</c> from another process), snapshots the KPI projection (every 5 minutes
/// when events arrived, sooner after 500,000 new events, checked every second) so a restart is
/// fast, and closes the hub cleanly on shutdown.
/// </summary>
public sealed class HubLoader(HubState state, ServeOptions options, ILogger<HubLoader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        // Opening blocks for seconds on a large folder: it gets a thread of its own rather than one
        // of the pool's, so a busy pool cannot delay the start (nor the start starve the pool).
        var hub = await Task.Factory.StartNew(() => Hub.Open(options.DataDirectory, options.Ingest, options.Time, options.MaxPageCount, options.Cluster, options.Postgres),
            stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        state.Set(hub);
        // The KPI projection's two stages say where a slow start went (docs/operations.md, "Restarts and memory").
        logger.LogInformation("Hub ready: {Events} events in {DataDirectory}, loaded in {Elapsed} ms ({Replayed} replayed after the KPI snapshot; snapshot read in {SnapshotMs} ms, replay {ReplayMs} ms)",
            hub.Log.EventCount, hub.Database.DataDirectory, started.ElapsedMilliseconds, hub.Kpis.ReplayedEvents,
            (long)hub.Kpis.LoadTimes.Snapshot.TotalMilliseconds, (long)hub.Kpis.LoadTimes.Replay.TotalMilliseconds);
        if (options.HeapPages is { } pages)
        {
            logger.LogInformation("Managed heap: {Pages}", pages);
        }
        if (hub.Kpis.SnapshotProblem is { } problem)
        {
            logger.LogWarning("KPI projection: {Problem}", problem);
        }
        if (options.SchedulerOff is { } reason)
        {
            logger.LogWarning("Scheduled jobs do not run on this node: {Reason}", reason);
        }
        var lastSnapshot = System.Diagnostics.Stopwatch.StartNew();
        var auditFailures = 0L;
        var auditLoggedAt = 0L;
        // The event-count threshold is checked every second, not only every maintenance pass: a
        // crash then leaves at most the threshold plus about a second of ingest to replay at the
        // next start (every 10 s it could be millions more at full ingest speed).
        var tick = options.MaintenanceInterval < TimeSpan.FromSeconds(1) ? options.MaintenanceInterval : TimeSpan.FromSeconds(1);
        var sinceMaintenance = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(tick, stoppingToken);
                if (sinceMaintenance.Elapsed < options.MaintenanceInterval)
                {
                    Step("save the KPI snapshot", () =>
                    {
                        if (hub.SaveSnapshotIfBehind(options.SnapshotEveryEvents))
                        {
                            lastSnapshot.Restart();
                        }
                    });
                    continue;
                }
                sinceMaintenance.Restart();
                // Each step survives a failed write (a full disk, an I/O error): it is logged and
                // tried again next time; reads go on being served and the collector answers 503
                // until space comes back.
                Step("flush token last-used times", hub.Tokens.FlushLastUsed);
                Step("re-read FX rates", () => hub.Fx.Refresh(hub.FxRows));
                Step("save the KPI snapshot", () =>
                {
                    if (hub.SaveSnapshotIfBehind(lastSnapshot.Elapsed >= options.SnapshotInterval ? 1 : options.SnapshotEveryEvents))
                    {
                        lastSnapshot.Restart();
                    }
                });
                if (hub.Audit.FailedCommits != auditFailures
                    && (auditLoggedAt == 0 || System.Diagnostics.Stopwatch.GetElapsedTime(auditLoggedAt) >= RepeatFailureLogEvery))
                {
                    auditFailures = hub.Audit.FailedCommits;
                    auditLoggedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                    logger.LogError(hub.Audit.LastFailure, "The audit log cannot be written; served reads' entries are kept and retried ({Dropped} dropped so far)",
                        hub.Audit.DroppedReads);
                }
                Interlocked.Increment(ref _passes);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private long _passes;
    private long _failures;

    /// <summary>Maintenance passes completed (tests observe that the loop goes on through failures).</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>Maintenance steps that failed.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>
    /// How often a step that keeps failing is logged again. On a full disk every step fails on
    /// every pass (each second for the snapshot); one error with its exception when a step starts
    /// failing, then one line a minute with the count, keeps the log readable and the disk that is
    /// full from filling with its own complaints.
    /// </summary>
    internal static readonly TimeSpan RepeatFailureLogEvery = TimeSpan.FromMinutes(1);

    /// <summary>Per failing step: attempts failed in a row and when it was last logged.</summary>
    private readonly Dictionary<string, (long Failed, long LoggedAt)> _failing = [];
    private long _failureLines;

    /// <summary>Error lines written for failed steps (tests check that a step failing on every pass is not logged on every pass).</summary>
    public long FailureLines => Interlocked.Read(ref _failureLines);

    private void Step(string what, Action step)
    {
        try
        {
            step();
            if (_failing.Remove(what, out var was))
            {
                logger.LogInformation("Could {What} again after {Failed} failed attempts", what, was.Failed);
            }
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or Engine.Postgres.StateUnavailableException)
        {
            Interlocked.Increment(ref _failures);
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (!_failing.TryGetValue(what, out var failing))
            {
                _failing[what] = (1, now);
                Interlocked.Increment(ref _failureLines);
                logger.LogError(e, "Could not {What}; trying again every {Interval} s (logged again once a minute while it fails)", what, options.MaintenanceInterval.TotalSeconds);
                return;
            }
            failing.Failed++;
            if (System.Diagnostics.Stopwatch.GetElapsedTime(failing.LoggedAt, now) >= RepeatFailureLogEvery)
            {
                failing.LoggedAt = now;
                Interlocked.Increment(ref _failureLines);
                logger.LogError("Still cannot {What}: {Failed} failed attempts in a row; the last: {Problem}", what, failing.Failed, e.Message);
            }
            else
            {
                logger.LogDebug(e, "Could not {What} ({Failed} attempts in a row)", what, failing.Failed);
            }
            _failing[what] = failing;
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
