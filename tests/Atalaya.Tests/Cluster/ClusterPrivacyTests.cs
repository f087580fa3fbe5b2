using System.Net;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Postgres;
using Atalaya.Tests.Access;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Postgres;
using Atalaya.Tests.Privacy;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// An access request on a cluster node (docs/privacy.md, docs/scale-out.md): the node searches
/// ClickHouse for the person's events and answers what an embedded hub fed the same events answers
/// — the same linked ids, the same stored events, the same quarantined payloads — for a signed-in
/// person, each of their anonymous ids, an id only an alias names, and a device two people share.
/// Without <c>--postgres</c> the node refuses erasure (501 naming the option).
/// </summary>
public sealed class ClusterPrivacyTests(ClusterServers servers, PostgresServer postgres) : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>
{
    private const string User = "ana.svensson@example.se";
    private const string Legacy = "anon-ana-legacy";
    private const string Tablet = "anon-family-tablet";

    /// <param name="withPostgres">With <c>--postgres</c> the node keeps refused events in PostgreSQL, and the export reads them there.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_cluster_node_exports_a_person_as_the_embedded_hub_does(bool withPostgres)
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var node = ClusterNode.Create(new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString(), servers.Rabbit.Uri.ToString(), 4,
            "privacy." + Guid.NewGuid().ToString("N"));
        using var state = withPostgres ? PostgresState.Open(await postgres.NewDatabaseAsync()) : null;
        await using var cluster = await TestHub.StartAsync(o => o with { Cluster = node, Postgres = state, RunScheduler = false, RunAlerts = false });
        await using var embedded = await TestHub.StartAsync(o => o with { RunScheduler = false, RunAlerts = false });
        await Wait.UntilAsync(() => node.Answering, "the node loaded its (empty) projection", seconds: 120);

        var b = new EventBuilder("privacy");
        var events = ErasureTests.Person(b);
        events.AddRange(
        [
            b.PageView("2026-03-02T09:00:00Z", "u-parent", "s-tablet-1", Place.Sweden, Tablet),
            b.Order("2026-03-02T09:05:00Z", "o-tablet-1", "mx-001", "u-parent", "s-tablet-1", place: Place.Sweden, anonymous: Tablet),
            b.PageView("2026-03-02T20:00:00Z", "u-teen", "s-tablet-2", Place.Sweden, Tablet),
            b.PageView("2026-03-02T21:00:00Z", "u-other", "s-other-1", Place.Sweden, "anon-other"),
        ]);
        var alias = $$"""{"messageId":"ana-alias","userId":"{{User}}","previousId":"{{Legacy}}","timestamp":"2026-03-01T07:59:00Z"}""";
        var refused = $$$"""{"event_id":"ana-bad","event_type":"purchase_completed","timestamp":"2026-03-02T19:11:00Z","user_id":"{{{User}}}","properties":{}}""";
        foreach (var hub in new[] { embedded, cluster })
        {
            using var posted = await hub.PostEventsAsync(EventBuilder.Ndjson(events), "application/x-ndjson");
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            using var aliased = await hub.PostSegmentAsync("/v1/alias", alias);
            Assert.Equal(HttpStatusCode.OK, aliased.StatusCode);
            using var quarantined = await hub.PostEventsAsync(refused);
            Assert.Equal(HttpStatusCode.OK, quarantined.StatusCode);
        }
        var stored = events.Count + 1;
        Assert.Equal(stored, embedded.Hub.Kpis.Projection.Count);
        await Wait.UntilAsync(() => cluster.Hub.Kpis.Projection.Count == stored, "the cluster node's projection holds every event from ClickHouse", seconds: 120);

        var embeddedAdmin = embedded.CreateToken(Role.Admin);
        var clusterAdmin = cluster.CreateToken(Role.Admin);
        foreach (var person in new[] { $"user_id={User}", "anonymous_id=anon-ana-1", "anonymous_id=anon-ana-2", $"anonymous_id={Legacy}", $"anonymous_id={Tablet}", "user_id=u-parent" })
        {
            var expected = await ExportAsync(embedded, embeddedAdmin, person);
            var actual = await ExportAsync(cluster, clusterAdmin, person);
            Assert.True(expected.GetProperty("event_count").GetInt32() > 0, person);
            foreach (var member in new[] { "user_ids", "anonymous_ids" })
            {
                Assert.Equal(Ids(expected, member), Ids(actual, member));
            }
            Assert.Equal(Events(expected), Events(actual));
            Assert.Equal(Quarantined(expected), Quarantined(actual));
        }

        // What the links come to, checked by hand once: Ana's ids, her alias's previous id, and the
        // shared tablet that neither parent nor teenager is taken for.
        var ana = await ExportAsync(cluster, clusterAdmin, $"anonymous_id={Legacy}");
        Assert.Equal([User], Ids(ana, "user_ids"));
        Assert.Equal(["anon-ana-1", "anon-ana-2", Legacy], Ids(ana, "anonymous_ids"));
        // Her events that name her (an order's status change names only the order), and the alias.
        Assert.Equal(ErasureTests.Person(new EventBuilder("privacy")).Count(e => e["user_id"] is not null || e["anonymous_id"] is not null) + 1,
            ana.GetProperty("event_count").GetInt32());
        Assert.Single(ana.GetProperty("quarantined").EnumerateArray());
        // Where the node kept the refused event: PostgreSQL with --postgres, else its own folder.
        Assert.Equal(withPostgres ? 0 : 1, StoredEvents.Query(cluster.DataDirectory, "SELECT payload FROM failed_events;").Count());
        var tablet = await ExportAsync(cluster, clusterAdmin, $"anonymous_id={Tablet}");
        Assert.Empty(Ids(tablet, "user_ids"));
        Assert.Equal(3, tablet.GetProperty("event_count").GetInt32());

        foreach (var hub in new[] { (embedded, embeddedAdmin), (cluster, clusterAdmin) })
        {
            var (status, _) = await AccessHttp.GetAsync(hub.Item1.Client, "/api/privacy/export?user_id=nobody", hub.Item2);
            Assert.Equal(HttpStatusCode.NotFound, status);
        }
        // Erasure needs the shared record of erasures in PostgreSQL (ClusterErasureTests erases with it).
        if (!withPostgres)
        {
            var (erasure, body) = await AccessHttp.SendAsync(cluster.Client, HttpMethod.Post, "/api/privacy/erasure", clusterAdmin, $$"""{"user_id": "{{User}}"}""");
            Assert.Equal(HttpStatusCode.NotImplemented, erasure);
            Assert.Contains("--postgres", body, StringComparison.Ordinal);
        }
    }

    private static async Task<System.Text.Json.JsonElement> ExportAsync(TestHub hub, string admin, string person) =>
        await AccessHttp.GetJsonAsync(hub.Client, "/api/privacy/export?" + person.Replace("@", "%40", StringComparison.Ordinal), admin);

    private static List<string> Ids(System.Text.Json.JsonElement export, string member) =>
        [.. export.GetProperty(member).EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal)];

    /// <summary>The events as stored, less the time each hub received them (the two hubs took them apart).</summary>
    private static List<string> Events(System.Text.Json.JsonElement export) =>
        [.. export.GetProperty("events").EnumerateArray().Select(e =>
        {
            var o = JsonNode.Parse(e.GetRawText())!.AsObject();
            o.Remove("received_at");
            return o.ToJsonString();
        })];

    private static List<string> Quarantined(System.Text.Json.JsonElement export) =>
        [.. export.GetProperty("quarantined").EnumerateArray().Select(e => e.GetProperty("reason").GetString() + " " + e.GetProperty("payload").GetString())];
}
