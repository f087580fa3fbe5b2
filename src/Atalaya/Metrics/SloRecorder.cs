using System.Collections.Concurrent;
using Atalaya.Engine.Slo;
using Atalaya.Http;

namespace Atalaya.Metrics;

/// <summary>
/// Counts good and total events per UTC hour and objective as requests finish (in memory, a few
/// counters), for <c>Slo/SloService.cs</c> to add to <c>slo_hours</c> every minute. Which requests
/// count for which objective is decided here, from the route pattern.
/// </summary>
public sealed class SloRecorder(ServeOptions options)
{
    private readonly ConcurrentDictionary<(string Hour, string Slo), long[]> _counts = new();

    public void RecordRequest(string method, string route, int status, double seconds)
    {
        if (method == "POST" && (route == "/api/events" || route.StartsWith("/v1/", StringComparison.Ordinal)))
        {
            Count(SloObjectives.CollectorAvailability, status < 500);
            if (status is >= 200 and < 300)
            {
                Count(SloObjectives.IngestToVisible, seconds <= SloObjectives.IngestLimit.TotalSeconds);
            }
        }
        else if (method == "GET" && IsRead(route) && status < 500)
        {
            Count(SloObjectives.ReadLatency, seconds <= SloObjectives.ReadLimit.TotalSeconds);
        }
    }

    /// <summary>Metrics reads: the KPI, analysis and operations APIs (not the live event stream, which stays open).</summary>
    public static bool IsRead(string route) => route != "/api/kpi/events"
        && (route.StartsWith("/api/kpi/", StringComparison.Ordinal) || route.StartsWith("/api/analysis/", StringComparison.Ordinal)
            || route is "/api/alerts" or "/api/quality" or "/api/runs" or "/api/slo");

    public void Count(string slo, bool good)
    {
        var counts = _counts.GetOrAdd((SloStore.HourKey(options.Time.GetUtcNow()), slo), _ => new long[2]);
        if (good)
        {
            Interlocked.Increment(ref counts[0]);
        }
        Interlocked.Increment(ref counts[1]);
    }

    /// <summary>
    /// Adds what was counted since the last save to <paramref name="rows"/> (the data folder's, or
    /// on a cluster PostgreSQL's, where every node adds its own). Counts that cannot be saved are
    /// kept for the next save, and the failure is thrown.
    /// </summary>
    public void SaveTo(ISloRows rows)
    {
        var drained = Drain();
        try
        {
            rows.Add(drained);
        }
        catch
        {
            Restore(drained);
            throw;
        }
    }

    /// <summary>Puts drained counts back (they could not be saved): the next save adds them with what arrived meanwhile.</summary>
    private void Restore(IEnumerable<(string Hour, string Slo, long Good, long Total)> counts)
    {
        foreach (var (hour, slo, good, total) in counts)
        {
            var c = _counts.GetOrAdd((hour, slo), _ => new long[2]);
            Interlocked.Add(ref c[0], good);
            Interlocked.Add(ref c[1], total);
        }
    }

    /// <summary>Takes what was counted since the last call (counts that arrive meanwhile wait for the next).</summary>
    public List<(string Hour, string Slo, long Good, long Total)> Drain()
    {
        var drained = new List<(string, string, long, long)>();
        foreach (var key in _counts.Keys)
        {
            if (_counts.TryRemove(key, out var c))
            {
                drained.Add((key.Hour, key.Slo, Interlocked.Read(ref c[0]), Interlocked.Read(ref c[1])));
            }
        }
        return drained;
    }
}
