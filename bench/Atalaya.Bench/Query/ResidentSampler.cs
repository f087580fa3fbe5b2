namespace Atalaya.Bench.Query;

/// <summary>
/// Reads a process's resident memory every 20 ms on a background task and keeps the highest value
/// seen, so the peak during a phase is reported and not only its end.
/// </summary>
public sealed class ResidentSampler : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peak;

    public ResidentSampler(Func<long> read)
    {
        _peak = read();
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    var now = read();
                    if (now > Interlocked.Read(ref _peak))
                    {
                        Interlocked.Exchange(ref _peak, now);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (IOException)
            {
                // The process ended: the peak so far stands.
            }
        });
    }

    /// <summary>The highest resident memory seen so far, in bytes.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait();
        _stop.Dispose();
    }
}
