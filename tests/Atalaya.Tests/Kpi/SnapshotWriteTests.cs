using Atalaya.Engine.Demo;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// Writing the projection's snapshot (about a second at 10M events) must not hold up ingest: commits
/// that arrive meanwhile are acknowledged, set aside, and in every figure right after it.
/// </summary>
public sealed class SnapshotWriteTests
{
    [Fact]
    public async Task Events_posted_while_a_snapshot_is_written_are_acknowledged_at_once_and_counted_after_it()
    {
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 2, Seed: 5, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 20));
        var kpis = hub.Server.Hub.Kpis;
        var path = Path.Combine(hub.Server.DataDirectory, "held-snapshot.bin");
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        kpis.WhileSnapshotHeld = () =>
        {
            held.Set();
            release.Wait(TimeSpan.FromMinutes(2));
        };
        var seqBefore = kpis.Projection.LastSeq;
        var saving = Task.Run(() => kpis.SaveSnapshot(path));
        try
        {
            Assert.True(held.Wait(TimeSpan.FromMinutes(1)), "the snapshot never reached its write");

            // The snapshot still holds the projection: the post must be acknowledged anyway.
            var b = new EventBuilder("held");
            var post = hub.PostAsync([b.Order("2026-03-03T10:00:00Z", "o-held", "mx-001", "u-held", "s-held")]);
            var finished = await Task.WhenAny(post, Task.Delay(TimeSpan.FromMinutes(1)));
            Assert.True(finished == post, "the post waited for the snapshot");
            Assert.Equal(seqBefore, kpis.Projection.LastSeq);
        }
        finally
        {
            release.Set();
            await saving;
            kpis.WhileSnapshotHeld = null;
        }

        // Right after the snapshot the order is in the figures, and the snapshot itself is the state before it.
        Assert.Equal(seqBefore + 1, kpis.Projection.LastSeq);
        hub.Refresh();
        Assert.Contains(hub.Reference.Orders, o => o.Text("order_id") == "o-held");
        var query = new KpiQuery(new DateOnly(2026, 3, 2), new DateOnly(2026, 3, 3)) { GroupBy = ["country"] };
        var differences = KpiComparison.Differences(KpiReference.Query(hub.Reference, query), await hub.Api.QueryAsync(query), query);
        Assert.True(differences.Count == 0, KpiComparison.Describe("after the held snapshot: " + query, differences));
        await using var file = File.OpenRead(path);
        var saved = new KpiProjection();
        saved.Load(file, () => File.OpenRead(path));
        Assert.Equal(seqBefore, saved.LastSeq);
    }

    [Fact]
    public async Task Snapshots_written_again_and_again_under_concurrent_posts_lose_no_event_and_keep_the_figures()
    {
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 2, Seed: 6, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 20));
        var kpis = hub.Server.Hub.Kpis;
        var path = Path.Combine(hub.Server.DataDirectory, "busy-snapshot.bin");
        var posting = true;
        var saves = 0;
        var saver = Task.Run(() =>
        {
            while (Volatile.Read(ref posting))
            {
                kpis.SaveSnapshot(path);
                saves++;
            }
        });
        var clients = Enumerable.Range(0, 3).Select(client => Task.Run(async () =>
        {
            var b = new EventBuilder($"busy{client}");
            for (var request = 0; request < 40; request++)
            {
                var at = $"2026-03-0{2 + (request % 2)}T1{request % 10}:{client}5:00Z";
                await hub.PostAsync(
                [
                    b.PageView(at, $"u-busy-{client}-{request % 7}", $"s-busy-{client}-{request}"),
                    b.Order(at, $"o-busy-{client}-{request}", "mx-001", $"u-busy-{client}-{request % 7}", $"s-busy-{client}-{request}", total: 200 + request),
                ]);
            }
        })).ToList();
        await Task.WhenAll(clients);
        Volatile.Write(ref posting, false);
        await saver;
        Assert.True(saves > 1, "the snapshot was written only once while the clients posted");

        // Every stored event is in the projection, in order, and the figures are the reference's.
        hub.Refresh();
        Assert.Equal(StoredEvents.Count(hub.Server.DataDirectory), kpis.Projection.Count);
        var query = new KpiQuery(new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 3)) { GroupBy = ["country"] };
        var differences = KpiComparison.Differences(KpiReference.Query(hub.Reference, query), await hub.Api.QueryAsync(query), query);
        Assert.True(differences.Count == 0, KpiComparison.Describe("after snapshots under load: " + query, differences));

        // The last snapshot is whole: a restart from it answers the same.
        await hub.RestartAsync();
        differences = KpiComparison.Differences(KpiReference.Query(hub.Reference, query), await hub.Api.QueryAsync(query), query);
        Assert.True(differences.Count == 0, KpiComparison.Describe("after a restart: " + query, differences));
    }
}
