using System.Net;
using System.Text.Json;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Privacy;

/// <summary>An erasure while clients keep sending: every acknowledged event is stored, none is lost or refused, and the figures stay.</summary>
public sealed class ErasureUnderIngestTests
{
    [Fact]
    public async Task Events_sent_during_an_erasure_are_all_kept()
    {
        await using var hub = await ErasureTests.StartAsync();
        var storedBefore = StoredEvents.Count(hub.Server.DataDirectory);
        var erased = new TaskCompletionSource();
        long acknowledged = 0;
        var failures = new List<string>();

        async Task SendAsync(int client)
        {
            var b = new EventBuilder($"load{client}");
            // Keeps sending until the erasure is done, then a few more requests (bounded either way).
            for (var request = 0; request < 2000 && (!erased.Task.IsCompleted || request % 50 != 0); request++)
            {
                var events = Enumerable.Range(0, 20).Select(i =>
                    b.PageView($"2026-03-0{1 + (i % 3)}T1{i % 10}:00:00Z", $"load-user-{client}-{i}", $"load-s-{client}-{request}")).ToList();
                // The person keeps browsing while being erased: her new events are new data, kept whole.
                events.Add(b.PageView("2026-03-03T09:00:00Z", "ana.svensson@example.se", $"ana-late-{client}-{request}"));
                using var response = await hub.Server.PostEventsAsync(EventBuilder.Ndjson(events), "application/x-ndjson");
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    lock (failures)
                    {
                        failures.Add($"{(int)response.StatusCode} {text}");
                    }
                    continue;
                }
                using var answer = JsonDocument.Parse(text);
                Interlocked.Add(ref acknowledged, answer.RootElement.GetProperty("accepted").GetInt64());
            }
        }

        var clients = Enumerable.Range(0, 3).Select(c => Task.Run(() => SendAsync(c))).ToList();
        // Let the load start before the erasure: wait until events beyond the dataset are stored.
        while (Interlocked.Read(ref acknowledged) < 200)
        {
            await Task.Delay(20);
        }
        var (status, body) = await ErasureTests.EraseAsync(hub.Server, hub.AdminToken, """{"user_id": "ana.svensson@example.se"}""");
        erased.SetResult();
        await Task.WhenAll(clients);

        Assert.True(status == HttpStatusCode.OK, body.GetRawText());
        Assert.Empty(failures);
        Assert.Equal(storedBefore + Interlocked.Read(ref acknowledged), StoredEvents.Count(hub.Server.DataDirectory));
        Assert.Equal(storedBefore + Interlocked.Read(ref acknowledged), hub.Server.Hub.Kpis.Projection.Count);
        // Every event stored before the cut is pseudonymized; events of hers that arrived after are new data.
        var events = StoredEvents.All(hub.Server.DataDirectory);
        Assert.All(events.Where(e => e.GetProperty("event_id").GetString()!.StartsWith("ana-0", StringComparison.Ordinal) && e.TryGetProperty("user_id", out _)),
            e => Assert.StartsWith("psn_", e.GetProperty("user_id").GetString(), StringComparison.Ordinal));

        // The live projection and one rebuilt from the raw events agree after all this.
        hub.Refresh();
        var before = await ErasureTests.AnswersAsync(hub);
        await hub.RestartAsync(() => File.Delete(Engine.Hub.SnapshotPath(hub.Server.DataDirectory)));
        ErasureTests.AssertSame(before, await ErasureTests.AnswersAsync(hub), "after a rebuild from raw events");
    }
}
