using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Atalaya.Collect;

/// <summary>
/// Per-source request budget (requests per second, with a burst of one second's worth), so one
/// misbehaving client cannot starve the others. Zero turns it off.
/// </summary>
public sealed class SourceRateLimiter(int requestsPerSecond)
{
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);

    public bool TryAcquire(string source)
    {
        if (requestsPerSecond <= 0)
        {
            return true;
        }
        var bucket = _buckets.GetOrAdd(source, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = requestsPerSecond,
            TokensPerPeriod = requestsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        using var lease = bucket.AttemptAcquire();
        return lease.IsAcquired;
    }
}
