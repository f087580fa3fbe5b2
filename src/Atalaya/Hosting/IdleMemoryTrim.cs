using System.Runtime;
using Atalaya.Http;

namespace Atalaya.Hosting;

/// <summary>
/// Gives memory back to the operating system when the hub has nothing to do. A query builds
/// short-lived arrays (per-day accumulators, distinct-count sets, answer buffers) that the server
/// GC leaves in its generations, and its heap stays at the size of the busiest moment long after:
/// at 1M events resident memory after the query benchmark was 1.3× that after start-up, at 10M 1.9×
/// (docs/benchmarks.md). After <see cref="ServeOptions.IdleTrimAfter"/> without a request, and only
/// when enough was allocated since the last trim, one blocking, compacting, aggressive full
/// collection (large-object heap included) compacts what is live and decommits the rest, and the C
/// heap under SQLite returns its free arenas (<see cref="NativeHeap"/>). It costs
/// tens to hundreds of milliseconds of one core, never while a request is being served, and at
/// most once per idle period: an idle hub does not collect again and again.
/// </summary>
internal sealed class IdleMemoryTrim(RequestActivity activity, ServeOptions options) : BackgroundService
{
    /// <summary>Allocations since the last trim below this leave nothing worth returning (32 MiB).</summary>
    internal long MinAllocatedSinceTrim { get; init; } = 32L << 20;

    private long _allocatedAtLastTrim = GC.GetTotalAllocatedBytes();
    private long _trims;

    /// <summary>Trims done so far (tests observe them).</summary>
    public long Trims => Interlocked.Read(ref _trims);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.IdleTrimAfter is not { } idle)
        {
            return;
        }
        var check = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 100, idle.Ticks / 5));
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(check, options.Time, stoppingToken);
                TrimIfIdle(idle);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Trims when no request is running, none arrived for <paramref name="idle"/> and enough was allocated since the last trim.</summary>
    internal bool TrimIfIdle(TimeSpan idle)
    {
        if (!activity.IdleFor(idle))
        {
            return false;
        }
        var allocated = GC.GetTotalAllocatedBytes();
        if (allocated - _allocatedAtLastTrim < MinAllocatedSinceTrim)
        {
            return false;
        }
        Engine.Storage.ScratchMemory.Release();
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
        _allocatedAtLastTrim = GC.GetTotalAllocatedBytes();
        Interlocked.Increment(ref _trims);
        return true;
    }
}

/// <summary>When the last request ended and how many are running: what <see cref="IdleMemoryTrim"/> waits for.</summary>
internal sealed class RequestActivity(TimeProvider time)
{
    private long _running;
    private long _lastActivity = time.GetTimestamp();

    public void Started()
    {
        Interlocked.Increment(ref _running);
    }

    public void Ended()
    {
        Interlocked.Exchange(ref _lastActivity, time.GetTimestamp());
        Interlocked.Decrement(ref _running);
    }

    /// <summary>True when no request is running and the last one ended at least <paramref name="idle"/> ago.</summary>
    public bool IdleFor(TimeSpan idle) =>
        Interlocked.Read(ref _running) == 0 && time.GetElapsedTime(Interlocked.Read(ref _lastActivity)) >= idle;

    /// <summary>Counts every request from its start to its end (the middleware of <see cref="HubHost"/>).</summary>
    public static void Use(WebApplication app)
    {
        var activity = app.Services.GetRequiredService<RequestActivity>();
        app.Use(async (context, next) =>
        {
            activity.Started();
            try
            {
                await next(context);
            }
            finally
            {
                activity.Ended();
            }
        });
    }
}
