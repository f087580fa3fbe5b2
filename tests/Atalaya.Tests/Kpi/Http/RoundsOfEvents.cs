using System.Text.Json.Nodes;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi.Http;

/// <summary>
/// Questions asked between rounds of new events, for what the engine carries on from query to
/// query (its tallies): each answer must equal the reference over every stored event, asked twice
/// (the second answer comes from the tally as the first left it). Each round must change at least
/// <c>mustChange</c> answers of the reference, or it tests nothing and the test fails.
/// </summary>
public static class RoundsOfEvents
{
    public static async Task AskBetweenAsync(KpiHub hub, KpiQuery[] queries, IEnumerable<(string When, Func<List<JsonObject>> Events)> rounds, int mustChange = 2)
    {
        var answers = new List<KpiRow>[queries.Length];
        async Task AskAll(string when)
        {
            for (var q = 0; q < queries.Length; q++)
            {
                var expected = KpiReference.Query(hub.Reference, queries[q]);
                KpiComparison.AssertSame(expected, await hub.Api.QueryAsync(queries[q]), queries[q], when);
                KpiComparison.AssertSame(expected, await hub.Api.QueryAsync(queries[q]), queries[q], when + ", asked again");
                answers[q] = expected;
            }
        }

        await AskAll("the first events");
        foreach (var (when, events) in rounds)
        {
            var before = answers.Select(a => a.Select(r => r.ToString()).ToList()).ToList();
            await hub.PostAsync(events());
            var changed = Enumerable.Range(0, queries.Length)
                .Count(q => !before[q].SequenceEqual(KpiReference.Query(hub.Reference, queries[q]).Select(r => r.ToString())));
            Assert.True(changed >= mustChange, $"{when}: only {changed} of the {queries.Length} answers changed; the round tests nothing");
            await AskAll("after " + when);
        }
    }
}
