using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Cluster;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// A node whose feed lost events heals itself (docs/scale-out.md, "Answers on every node"): rows
/// that reach ClickHouse without passing through the written-events feed (as when a writer's publish
/// failed after its insert) show as the same lag three checks in a row, and the node loads its
/// projection again from ClickHouse, counting the reload.
/// </summary>
public sealed class ClusterReloadTests(ClusterServers servers) : IClassFixture<ClusterServers>
{
    [Fact]
    public async Task Events_the_feed_never_brought_show_as_lag_and_the_node_reloads_them_from_clickhouse()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var url = new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString();
        var node = ClusterNode.Create(url, servers.Rabbit.Uri.ToString(), 4, "reload." + Guid.NewGuid().ToString("N"));
        node.CheckEvery = TimeSpan.FromSeconds(1);
        await using var hub = await TestHub.StartAsync(o => o with { Cluster = node, RunScheduler = false, RunAlerts = false });
        var api = new MetricsClient(hub.Client, hub.Hub.Tokens.Create(new TokenRequest(Role.Admin, "reload")).Secret);
        await Wait.UntilAsync(() => node.Answering, "the node loaded its (empty) projection", seconds: 120);

        // Five orders through the collector: the feed brings them.
        // A fixed day (noon UTC), not today's: the figures asked for do not depend on when the test runs.
        var day = new DateTimeOffset(ClusterData.LastDay.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        using (var posted = await hub.PostEventsAsync(string.Concat(Enumerable.Range(0, 5).Select(i => Order($"fed-{i}", day.AddMinutes(i)).ToJsonString() + "\n")), "application/x-ndjson"))
        {
            Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
        }
        await Wait.UntilAsync(() => node.ProjectionApplied == 5, "the feed brought the five orders", seconds: 60);

        // Three orders straight into ClickHouse: no writer published them.
        var lost = Enumerable.Range(0, 3).Select(i => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(Order($"lost-{i}", day.AddMinutes(10 + i)).ToJsonString())).ToList();
        await new ClickHouseEventWriter(new ClickHouseClient(ClickHouseSettings.Parse(url))).InsertAsync(lost, CancellationToken.None);

        await Wait.UntilAsync(() => node.ProjectionLag == 3, "the lag check sees the three events the projection lacks", seconds: 60);
        await Wait.UntilAsync(() => node.Reloads == 1 && node.Answering && node.ProjectionApplied == 8, "the node reloaded all eight from ClickHouse", seconds: 120);
        var orders = await api.GetJsonAsync($"/api/kpi/query?metric=orders&start_date={day.AddDays(-1):yyyy-MM-dd}&end_date={day.AddDays(1):yyyy-MM-dd}&aggregate=total");
        Assert.Equal(8, orders.GetProperty("data").EnumerateArray().Single().GetProperty("value").GetDouble());
        await Wait.UntilAsync(() => node.ProjectionLag == 0, "the next check finds nothing missing", seconds: 60);
        Assert.Equal(1, node.Reloads);
    }

    /// <summary>A counted order of one line, at <paramref name="at"/> (also what a writer publishes to the feed: <see cref="ClusterFeedFlowTests"/>).</summary>
    internal static JsonObject Order(string id, DateTimeOffset at)
    {
        var order = Events.Valid("purchase_completed");
        order["event_id"] = id;
        order["timestamp"] = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        order["received_at"] = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        order["properties"]!["order_id"] = "order-" + id;
        return order;
    }
}
