using Atalaya.Hosting;
using Atalaya.Tests.Hardening;
using Atalaya.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Atalaya.Tests.Restart;

/// <summary>
/// What a crash leaves to replay is bounded by the snapshot's event threshold
/// (src/Atalaya/Hosting/HubLoader.cs): the threshold is checked every second, so the snapshot follows
/// the events even when the maintenance pass (token flush, FX re-read) is far away.
/// </summary>
public sealed class SnapshotThresholdTests
{
    [Fact]
    public async Task A_snapshot_follows_the_event_threshold_without_waiting_for_the_maintenance_pass()
    {
        await using var hub = await TestHub.StartAsync(o => o with
        {
            MaintenanceInterval = TimeSpan.FromHours(1),
            SnapshotInterval = TimeSpan.FromDays(1),
            SnapshotEveryEvents = 10,
        });
        var start = hub.Hub.Kpis.SnapshotSeq;
        var events = string.Join(',', Enumerable.Range(0, 12).Select(i => PageView("threshold-" + i, DateTime.UtcNow.AddMinutes(-i))));
        using var response = await hub.PostEventsAsync("[" + events + "]");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        await AuditWindowTests.WaitUntilAsync(() => hub.Hub.Kpis.SnapshotSeq >= start + 12, "a snapshot covering the 12 new events");
        Assert.True(File.Exists(Engine.Hub.SnapshotPath(hub.DataDirectory)));
    }

    [Fact]
    public async Task Fewer_events_than_the_threshold_wait_for_the_interval()
    {
        await using var hub = await TestHub.StartAsync(o => o with
        {
            MaintenanceInterval = TimeSpan.FromMilliseconds(100),
            SnapshotInterval = TimeSpan.FromDays(1),
            SnapshotEveryEvents = 1000,
        });
        var loader = hub.Services.GetServices<IHostedService>().OfType<HubLoader>().Single();
        var start = hub.Hub.Kpis.SnapshotSeq;
        using var response = await hub.PostEventsAsync(PageView("below-threshold", DateTime.UtcNow));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var passes = loader.Passes;

        // Several maintenance passes later the single event is still not snapshotted.
        await AuditWindowTests.WaitUntilAsync(() => loader.Passes >= passes + 5, "five maintenance passes");
        Assert.Equal(start, hub.Hub.Kpis.SnapshotSeq);
    }

    private static string PageView(string id, DateTime at) =>
        "{\"event_id\":\"" + id + "\",\"event_type\":\"page_view\",\"timestamp\":\"" + at.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture)
        + "\",\"session_id\":\"s-1\",\"context\":{\"page_url\":\"https://shop.example/\",\"country\":\"MX\"}}";
}
