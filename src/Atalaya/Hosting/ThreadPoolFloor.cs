namespace Atalaya.Hosting;

/// <summary>
/// Raises the thread pool's floor for the server. KPI reads wait synchronously for the projection's
/// read lock while a commit is applied; with the default floor (one thread per core, two on a small
/// machine) a few such waits leave no thread for the requests behind them, and the pool adds threads
/// only about twice a second, so reads under heavy ingest waited hundreds of milliseconds for a
/// thread rather than for the lock. Idle threads cost little memory and are retired when unused.
/// </summary>
internal static class ThreadPoolFloor
{
    /// <summary>Worker threads the pool starts without delay: at least 32, or 8 per core.</summary>
    public static int Workers => Math.Max(32, Environment.ProcessorCount * 8);

    public static void Raise()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, Workers), io);
    }
}
