using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Kpi.Analysis;

/// <summary>One funnel step's users and conversions (percentages, null when the base is 0).</summary>
public sealed record FunnelStep(string Step, long Users, double? ConversionFromPrevious, double? ConversionFromFirst);

/// <summary>
/// Funnels with ClickHouse <c>windowFunnel(window)</c> semantics: per user, over the range's
/// events that match the filters in time order, the longest chain of the steps in order, each at
/// or after the previous, all within <c>window</c> of the chain's first step. A user counts for
/// step k when their longest chain reaches k. Events of the same millisecond chain in either order
/// they were stored in ("at or after").
/// </summary>
internal static class FunnelAnalysis
{
    public static IReadOnlyList<FunnelStep> Run(KpiProjection projection, IReadOnlyList<string> steps, long windowMs, long from, long to, DimensionFilter filter, AccessScope scope)
    {
        using var matcher = new ScopeMatcher(projection, filter, [], scope);
        var stepOf = new Dictionary<int, List<int>>();
        for (var s = 0; s < steps.Count; s++)
        {
            var type = projection.Pools.Types.Find(steps[s]);
            if (type == 0)
            {
                continue;
            }
            if (!stepOf.TryGetValue(type, out var list))
            {
                stepOf[type] = list = [];
            }
            list.Add(s);
        }
        // The step events of the range, keyed (user, time) and sorted stably, so each user's
        // timeline comes out in time order with ties in storage order.
        var isStep = new bool[projection.Pools.Types.Count + 1];
        foreach (var type in stepOf.Keys)
        {
            isStep[type] = true;
        }
        var keys = new List<long>();
        var types = new List<int>();
        var wide = projection.Pools.Users.Count >= 1 << 23 || to - from >= 1L << 40;
        var timelines = wide ? new Dictionary<int, List<(long Ts, int Type)>>() : null;
        foreach (var chunk in projection.Chunks)
        {
            if (chunk.Count == 0 || chunk.MaxTs < from || chunk.MinTs >= to)
            {
                continue;
            }
            for (var i = 0; i < chunk.Count; i++)
            {
                var t = chunk.Ts[i];
                if (!isStep[chunk.TypeAt(i)] || t < from || t >= to || chunk.User[i] == 0 || !matcher.Matches(chunk, i))
                {
                    continue;
                }
                if (timelines is null)
                {
                    keys.Add(((long)chunk.User[i] << 40) | (t - from));
                    types.Add(chunk.TypeAt(i));
                }
                else
                {
                    if (!timelines.TryGetValue(chunk.User[i], out var timeline))
                    {
                        timelines[chunk.User[i]] = timeline = [];
                    }
                    timeline.Add((t, chunk.TypeAt(i)));
                }
            }
        }
        var reached = new long[steps.Count + 1];
        var chainStart = new long[steps.Count];
        if (timelines is null)
        {
            var keyArray = keys.ToArray();
            var typeArray = types.ToArray();
            RadixSort.SortStable(keyArray, typeArray);
            var start = 0;
            while (start < keyArray.Length)
            {
                var user = keyArray[start] >> 40;
                var end = start;
                while (end < keyArray.Length && keyArray[end] >> 40 == user)
                {
                    end++;
                }
                reached[LongestChain(keyArray.AsSpan(start, end - start), typeArray.AsSpan(start, end - start), stepOf, chainStart, windowMs, (1L << 40) - 1)]++;
                start = end;
            }
        }
        else
        {
            foreach (var timeline in timelines.Values)
            {
                // List.Sort is not stable: order ties by position explicitly.
                var ordered = timeline.Select((e, k) => (e.Ts, e.Type, k)).OrderBy(e => e.Ts).ThenBy(e => e.k).ToArray();
                reached[LongestChain(ordered.Select(e => e.Ts).ToArray(), ordered.Select(e => e.Type).ToArray(), stepOf, chainStart, windowMs, -1L)]++;
            }
        }
        var result = new List<FunnelStep>(steps.Count);
        long first = 0, previous = 0;
        for (var s = 0; s < steps.Count; s++)
        {
            long users = 0;
            for (var k = s + 1; k <= steps.Count; k++)
            {
                users += reached[k];
            }
            if (s == 0)
            {
                first = users;
            }
            result.Add(new FunnelStep(steps[s], users,
                s == 0 ? (users == 0 ? null : 100.0) : previous == 0 ? null : 100.0 * users / previous,
                first == 0 ? null : 100.0 * users / first));
            previous = users;
        }
        return result;
    }

    /// <summary>The number of steps of the longest chain in one user's time-ordered events (<paramref name="timeMask"/> picks the time out of a key).</summary>
    private static int LongestChain(ReadOnlySpan<long> times, ReadOnlySpan<int> types, Dictionary<int, List<int>> stepOf, long[] chainStart, long windowMs, long timeMask)
    {
        Array.Fill(chainStart, long.MinValue);
        var best = 0;
        var k = 0;
        while (k < times.Length)
        {
            var ts = times[k] & timeMask;
            var end = k + 1;
            while (end < times.Length && (times[end] & timeMask) == ts)
            {
                end++;
            }
            if (end - k == 1)
            {
                best = Math.Max(best, Apply(stepOf[types[k]], ts, chainStart, windowMs));
            }
            else
            {
                // Events of one millisecond go earlier steps first: a step counts at or after the
                // previous one, so they chain in whichever order they were stored (as the reference
                // and ClickHouse's windowFunnel fed in that order).
                var run = types[k..end].ToArray();
                Array.Sort(run, (a, b) => stepOf[a][0].CompareTo(stepOf[b][0]));
                foreach (var type in run)
                {
                    best = Math.Max(best, Apply(stepOf[type], ts, chainStart, windowMs));
                }
            }
            k = end;
        }
        return best;
    }

    /// <summary>One event matching <paramref name="matches"/> (its steps, ascending) at <paramref name="ts"/>: the longest chain it completes.</summary>
    private static int Apply(List<int> matches, long ts, long[] chainStart, long windowMs)
    {
        var best = 0;
        // Later steps first, so one event cannot extend a chain it just started.
        for (var m = matches.Count - 1; m >= 0; m--)
        {
            var s = matches[m];
            if (s == 0)
            {
                chainStart[0] = ts;
                best = Math.Max(best, 1);
            }
            else if (chainStart[s - 1] != long.MinValue && ts - chainStart[s - 1] <= windowMs)
            {
                chainStart[s] = chainStart[s - 1];
                best = Math.Max(best, s + 1);
            }
        }
        return best;
    }
}
