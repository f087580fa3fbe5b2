using System.Net;
using Atalaya.Engine.Access;
using Atalaya.Engine.Cluster;
using Atalaya.Tests.Access;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// An access request while ClickHouse is away: the node cannot search the person's events, so it
/// answers 503 with Retry-After naming ClickHouse (never a 500, never an export that leaves the
/// events out), and answers the export again once ClickHouse is back.
/// </summary>
public sealed class ClusterExportOutageTests(ClusterServers servers) : IClassFixture<ClusterServers>
{
    [Fact]
    public async Task An_export_while_ClickHouse_is_unreachable_answers_503_with_Retry_After_and_works_again_after()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        await using var gate = new TcpGate(servers.ClickHouse.Url.Port);
        var node = ClusterNode.Create($"http://127.0.0.1:{gate.Port}/{clickHouse.Database}", servers.Rabbit.Uri.ToString(), 2,
            "export-outage." + Guid.NewGuid().ToString("N"));
        await using var cluster = await TestHub.StartAsync(o => o with { Cluster = node, RunScheduler = false, RunAlerts = false });
        await Wait.UntilAsync(() => node.Answering, "the node loaded its (empty) projection", seconds: 120);

        var b = new EventBuilder("outage");
        var events = new[]
        {
            b.PageView("2026-03-02T09:00:00Z", "u-outage", "s-outage-1", Place.Sweden, "anon-outage"),
            b.Order("2026-03-02T09:05:00Z", "o-outage-1", "mx-001", "u-outage", "s-outage-1", place: Place.Sweden, anonymous: "anon-outage"),
        };
        using (var posted = await cluster.PostEventsAsync(EventBuilder.Ndjson(events), "application/x-ndjson"))
        {
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }
        await Wait.UntilAsync(async () => await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == events.Length,
            "both events in ClickHouse");
        var admin = cluster.CreateToken(Role.Admin);
        var before = await AccessHttp.GetJsonAsync(cluster.Client, "/api/privacy/export?user_id=u-outage", admin);
        Assert.Equal(events.Length, before.GetProperty("event_count").GetInt32());

        await gate.CloseAsync();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/privacy/export?user_id=u-outage"))
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin);
            using var response = await cluster.Client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {body}");
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Contains("ClickHouse", body, StringComparison.Ordinal);
        }

        gate.Open();
        await Wait.UntilAsync(async () =>
        {
            var (status, _) = await AccessHttp.GetAsync(cluster.Client, "/api/privacy/export?user_id=u-outage", admin);
            return status == HttpStatusCode.OK;
        }, "the export answering again once ClickHouse is back", seconds: 60);
        var after = await AccessHttp.GetJsonAsync(cluster.Client, "/api/privacy/export?user_id=u-outage", admin);
        Assert.Equal(before.GetProperty("events").GetRawText(), after.GetProperty("events").GetRawText());
        Assert.Equal(before.GetProperty("user_ids").GetRawText(), after.GetProperty("user_ids").GetRawText());
    }
}
