using System.Text;
using Xunit.Abstractions;

namespace Atalaya.Tests.Robustness;

/// <summary>
/// docs/collector.md: bad input gets a 4xx with a message — 400 malformed, 401 bad write key, 413 too
/// large, 415 wrong content type — "never a 5xx for bad input", and a request refused as a whole
/// stores nothing. Well over a thousand hostile requests (deterministic by seed) go to one real hub.
/// </summary>
[Collection(RobustnessCollection.Name)]
public sealed class BadInputTests(BadInputRun run, ITestOutputHelper output) : IClassFixture<BadInputRun>
{
    [Fact]
    public void Every_bad_request_gets_a_4xx_never_a_5xx_or_a_dropped_connection()
    {
        output.WriteLine($"{run.Cases.Count} bad requests in {run.Elapsed.TotalSeconds:N1} s; statuses: "
            + string.Join(", ", run.Outcomes.GroupBy(o => o.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "dropped")
                .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} × {g.Count()}")));
        foreach (var category in run.Outcomes.GroupBy(o => o.Case.Category).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {category.Key}: {category.Count()} cases; "
                + string.Join(", ", category.GroupBy(o => o.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "dropped")
                    .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} × {g.Count()}")));
        }
        if (Environment.GetEnvironmentVariable("ATALAYA_ROBUSTNESS_DUMP") is { Length: > 0 } dump)
        {
            File.WriteAllLines(dump, run.Outcomes.Select(o => o.ToString()));
        }
        Assert.True(run.Cases.Count >= 1000, $"Only {run.Cases.Count} bad requests were generated.");
        var offenders = run.Offenders.ToList();
        Assert.True(offenders.Count == 0, BadInputRun.Report("Bad requests that did not get a 4xx", offenders) + $"\nHub log tail:\n{run.Hub.LogTail()}");
    }

    [Fact]
    public void Each_bad_request_gets_the_4xx_status_the_contract_names_for_it()
    {
        var wrong = run.WrongStatuses.ToList();
        Assert.True(wrong.Count == 0, BadInputRun.Report("Bad requests answered with a 4xx other than the contract's", wrong));
    }

    [Fact]
    public void The_intact_forms_of_the_broken_bodies_are_accepted()
    {
        Assert.True(run.ControlFailures.Count == 0,
            "The generator's templates are not accepted intact, so its broken copies prove nothing:\n" + string.Join('\n', run.ControlFailures));
    }

    [Fact]
    public async Task After_the_bad_requests_the_hub_is_healthy_accepts_events_and_stored_none_of_the_bad_ones()
    {
        using var client = run.Hub.CreateClient(TimeSpan.FromSeconds(30));
        using (var health = await client.GetAsync("healthz"))
        {
            Assert.Equal(200, (int)health.StatusCode);
        }
        var probeId = "probe-" + Guid.NewGuid().ToString("N");
        using (var request = CollectorClient.Request("api/events", SampleEvents.Utf8(SampleEvents.PageView(probeId)), "application/json", "Bearer " + run.Hub.WriteKey))
        using (var response = await client.SendAsync(request))
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == 200 && CollectorClient.Parse(text) is { Success: true, Accepted: 1 },
                $"A valid event after the bad requests answered {(int)response.StatusCode}: {text}");
        }

        await using var db = run.Hub.OpenDatabaseReadOnly();
        var leaked = new List<string>();
        await using (var command = db.CreateCommand())
        {
            command.CommandText = "SELECT event_id FROM raw_events WHERE event_id LIKE 'bad-%' ORDER BY event_id LIMIT 30";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                leaked.Add(reader.GetString(0));
            }
        }
        var badCount = await ScalarAsync(db, "SELECT count(*) FROM raw_events WHERE event_id LIKE 'bad-%'");
        Assert.True(badCount == 0, $"raw_events holds {badCount} events from bad requests:\n" + string.Join('\n', leaked.Select(id => $"- {id} from {CaseOf(id)}")));

        // The search above could see stored events: the intact controls and the probe are there.
        Assert.Equal(run.ControlEventsAccepted, await ScalarAsync(db, "SELECT count(*) FROM raw_events WHERE event_id LIKE 'good-%'"));
        Assert.Equal(1, await ScalarAsync(db, $"SELECT count(*) FROM raw_events WHERE event_id = '{probeId}'"));
    }

    [Fact]
    public void The_generator_is_deterministic_by_seed_and_covers_every_kind_of_bad_input()
    {
        var first = run.Cases;
        var again = new BadRequestGenerator(BadInputRun.Seed, run.Hub.WriteKey, run.AnalystToken).Generate();
        var other = new BadRequestGenerator(BadInputRun.Seed + 1, run.Hub.WriteKey, run.AnalystToken).Generate();
        Assert.Equal(first.Select(c => c.Name), again.Select(c => c.Name));
        Assert.All(first.Zip(again), pair => Assert.True(pair.First.Body.AsSpan().SequenceEqual(pair.Second.Body), pair.First.Name));
        Assert.False(first.Zip(other).All(pair => pair.First.Name == pair.Second.Name && pair.First.Body.AsSpan().SequenceEqual(pair.Second.Body)));
        Assert.Equal(first.Count, first.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
        string[] kinds =
        [
            "truncated", "wrong-type", "missing", "deep", "utf8", "non-finite", "empty-or-bare", "ndjson",
            "huge", "gzip-bomb", "gzip-invalid", "encoding", "content-type", "write-key", "segment",
        ];
        Assert.Equal(kinds.Order(StringComparer.Ordinal), first.Select(c => c.Category).Distinct().Order(StringComparer.Ordinal));
        Assert.DoesNotContain(first, c => c.Body.AsSpan().IndexOf("good-"u8) >= 0);
    }

    private string CaseOf(string eventId)
    {
        var needle = Encoding.UTF8.GetBytes(eventId + "\"");
        return run.Cases.FirstOrDefault(c => c.Body.AsSpan().IndexOf(needle) >= 0)?.ToString() ?? "(no plain-text case; a gzip body?)";
    }

    private static async Task<long> ScalarAsync(Microsoft.Data.Sqlite.SqliteConnection db, string sql)
    {
        await using var command = db.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
