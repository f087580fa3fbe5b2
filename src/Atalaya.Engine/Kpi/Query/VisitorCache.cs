using System.Collections.Concurrent;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Distinct visitors of whole periods (UTC hours [From, To)), over everything or per country, as
/// last counted from the <see cref="VisitLog"/>, with the log position they were counted at. A
/// count holds as long as no entry of those hours was added after that position (the log's zone
/// maps say so), so a dashboard's past weeks are counted once and only the current one again,
/// and an old event arriving late makes its period be counted anew. Exact: a count is reused only
/// when the entries it was counted from are all there are. Bounded: cleared when it holds
/// <see cref="MaxPeriods"/> periods. One per projection; readers share it under the read lock.
/// </summary>
internal sealed class VisitorCache
{
    private const int MaxPeriods = 4096;

    /// <summary>Open periods' tallies kept: a dashboard asks a handful of questions (summary, weekly visitors by country, …).</summary>
    private const int MaxTallies = 8;

    private readonly ConcurrentDictionary<(int From, int To, bool ByCountry), Counts> _periods = new();
    private readonly ConcurrentDictionary<string, VisitorTally> _tallies = new();

    public VisitorCache()
    {
        // A tally holds a per-user array (8 bytes a user): dropped with the scratch pools when the hub is idle.
        var cache = new WeakReference<VisitorCache>(this);
        Storage.ScratchMemory.RegisterHolder(() =>
        {
            if (cache.TryGetTarget(out var target))
            {
                target.DropTallies();
            }
        });
    }

    /// <summary>One period's distinct visitors: in all (<see cref="All"/>) or per country id.</summary>
    public sealed record Counts(int Generation, int Position, long All, IReadOnlyDictionary<int, long> ByCountry);

    /// <summary>The counts of [from, to) when they still hold, else null.</summary>
    public Counts? Find(VisitLog log, int from, int to, bool byCountry) =>
        _periods.TryGetValue((from, to, byCountry), out var counts) && counts.Generation == log.Generation
            && !log.MayHaveEntriesSince(counts.Position, from, to) ? counts : null;

    /// <summary>The tally of the periods <paramref name="key"/> names, for the caller alone until <see cref="KeepTally"/>; null when none holds for <paramref name="generation"/>.</summary>
    public VisitorTally? TakeTally(string key, int generation)
    {
        if (!_tallies.TryRemove(key, out var tally))
        {
            return null;
        }
        if (tally.Generation == generation)
        {
            return tally;
        }
        tally.Dispose();
        return null;
    }

    /// <summary>Keeps <paramref name="tally"/> for the next query of its periods (another query's tally of them, kept meanwhile, wins).</summary>
    public void KeepTally(string key, VisitorTally tally)
    {
        while (_tallies.Count >= MaxTallies && _tallies.Keys.FirstOrDefault() is { } evicted)
        {
            if (_tallies.TryRemove(evicted, out var old))
            {
                old.Dispose();
            }
        }
        if (!_tallies.TryAdd(key, tally))
        {
            tally.Dispose();
        }
    }

    /// <summary>Forgets every kept tally (each is counted again from the log when next asked).</summary>
    public void DropTallies()
    {
        foreach (var key in _tallies.Keys)
        {
            if (_tallies.TryRemove(key, out var tally))
            {
                tally.Dispose();
            }
        }
    }

    public void Keep(int from, int to, bool byCountry, Counts counts)
    {
        if (_periods.Count >= MaxPeriods)
        {
            _periods.Clear();
        }
        _periods[(from, to, byCountry)] = counts;
    }
}
