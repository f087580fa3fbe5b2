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

    private readonly ConcurrentDictionary<(int From, int To, bool ByCountry), Counts> _periods = new();

    /// <summary>One period's distinct visitors: in all (<see cref="All"/>) or per country id.</summary>
    public sealed record Counts(int Generation, int Position, long All, IReadOnlyDictionary<int, long> ByCountry);

    /// <summary>The counts of [from, to) when they still hold, else null.</summary>
    public Counts? Find(VisitLog log, int from, int to, bool byCountry) =>
        _periods.TryGetValue((from, to, byCountry), out var counts) && counts.Generation == log.Generation
            && !log.MayHaveEntriesSince(counts.Position, from, to) ? counts : null;

    public void Keep(int from, int to, bool byCountry, Counts counts)
    {
        if (_periods.Count >= MaxPeriods)
        {
            _periods.Clear();
        }
        _periods[(from, to, byCountry)] = counts;
    }
}
