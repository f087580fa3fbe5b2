using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Engine.Kpi.Analysis;

/// <summary>One funnel step's users and conversions (percentages, null when the base is 0).</summary>
public sealed record FunnelStep(string Step, long Users, double? ConversionFromPrevious, double? ConversionFromFirst);

/// <summary>
/// Funnels with ClickHouse <c>windowFunnel(window)</c> semantics: per user, over the range's
/// events that match the filters in time order (ties: storage order), the longest chain of the
/// steps in order, each at or after the previous, all within <c>window</c> of the chain's first
/// step. A user counts for step k when their longest chain reaches k.
/// </summary>
internal static class FunnelAnalysis
{
    public static IReadOnlyList<FunnelStep> Run(KpiProjection projection, IReadOnlyList<string> steps, long windowMs, long from, long to, DimensionFilter filter, AccessScope scope)
    {
        var matcher = new ScopeMatcher(projection, filter, [], scope);
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
        // Events of the steps per user, then each user's timeline in order.
        var byUser = new Dictionary<int, List<(long Ts, int Index, int Type)>>();
        var chunks = projection.Chunks;
        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            if (chunk.Count == 0 || chunk.MaxTs < from || chunk.MinTs >= to)
            {
                continue;
            }
            for (var i = 0; i < chunk.Count; i++)
            {
                var t = chunk.Ts[i];
                if (t < from || t >= to || chunk.User[i] == 0 || !stepOf.ContainsKey(chunk.Type[i]) || !matcher.Matches(chunk, i))
                {
                    continue;
                }
                if (!byUser.TryGetValue(chunk.User[i], out var timeline))
                {
                    byUser[chunk.User[i]] = timeline = [];
                }
                timeline.Add((t, c * EventChunk.Size + i, chunk.Type[i]));
            }
        }
        var reached = new long[steps.Count + 1];
        var chainStart = new long[steps.Count];
        foreach (var timeline in byUser.Values)
        {
            timeline.Sort((a, b) => a.Ts != b.Ts ? a.Ts.CompareTo(b.Ts) : a.Index.CompareTo(b.Index));
            Array.Fill(chainStart, long.MinValue);
            var best = 0;
            foreach (var e in timeline)
            {
                // Later steps first, so one event cannot extend a chain it just started.
                var matches = stepOf[e.Type];
                for (var m = matches.Count - 1; m >= 0; m--)
                {
                    var s = matches[m];
                    if (s == 0)
                    {
                        chainStart[0] = e.Ts;
                        best = Math.Max(best, 1);
                    }
                    else if (chainStart[s - 1] != long.MinValue && e.Ts - chainStart[s - 1] <= windowMs)
                    {
                        chainStart[s] = chainStart[s - 1];
                        best = Math.Max(best, s + 1);
                    }
                }
            }
            reached[best]++;
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
}
