namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// ClickHouse <c>windowFunnel(window)</c> as docs/metrics-api.md words it: per user (user_id, else
/// anonymous_id), over the events of the range inside the filters (custom types too: a funnel may
/// name them), the longest chain of the steps in
/// order, each at or after the previous, all within <c>window</c> seconds of the chain's first step;
/// a user counts for step k when that chain reaches k. Found by brute force: every event of the
/// first step is tried as the chain's start, and from it each next step takes the earliest unused
/// event allowed (taking the earliest never shortens a chain).
/// </summary>
public static class FunnelReference
{
    public static List<FunnelStep> Compute(ReferenceData data, IReadOnlyList<string> steps, int windowSeconds,
        DateTimeOffset start, DateTimeOffset end, DimensionFilters filters)
    {
        var window = TimeSpan.FromSeconds(windowSeconds);
        var levels = data.AllEvents
            .Where(e => e.User is not null && e.Timestamp >= start && e.Timestamp < end && filters.Matches(e.Dimensions) && steps.Contains(e.Type))
            .GroupBy(e => e.User!, StringComparer.Ordinal)
            .Select(events => LongestChain([.. events], steps, window))
            .ToList();
        var users = steps.Select((_, k) => levels.Count(level => level > k)).ToList();
        return [.. steps.Select((step, k) => new FunnelStep(step, users[k],
            Percent(users[k], users[Math.Max(0, k - 1)]),
            Percent(users[k], users[0])))];
    }

    /// <summary>How many steps the user's longest chain reaches; <paramref name="events"/> are in time order.</summary>
    public static int LongestChain(IReadOnlyList<ReferenceEvent> events, IReadOnlyList<string> steps, TimeSpan window)
    {
        var longest = 0;
        foreach (var first in events.Where(e => e.Type == steps[0]))
        {
            var used = new HashSet<ReferenceEvent> { first };
            var previous = first;
            var reached = 1;
            while (reached < steps.Count)
            {
                var next = events.FirstOrDefault(e => e.Type == steps[reached] && !used.Contains(e)
                    && e.Timestamp >= previous.Timestamp && e.Timestamp <= first.Timestamp + window);
                if (next is null)
                {
                    break;
                }
                used.Add(next);
                previous = next;
                reached++;
            }
            longest = Math.Max(longest, reached);
        }
        return longest;
    }

    private static double? Percent(int part, int whole) => whole == 0 ? null : 100.0 * part / whole;
}
