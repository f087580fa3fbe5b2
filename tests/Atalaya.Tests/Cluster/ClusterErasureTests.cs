using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Privacy;
using Atalaya.Tests.Access;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Postgres;
using Atalaya.Tests.Privacy;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// Erasure on a cluster (docs/privacy.md, docs/scale-out.md "Erasure on a cluster"): two real
/// <c>serve --clickhouse … --rabbitmq … --postgres …</c> nodes and an embedded hub take the same
/// events; one node erases a person. Its answer is the embedded hub's (status, ids, events,
/// quarantined), ClickHouse's rows end as the embedded blocks do (the same pseudonym scheme, the
/// personal fields gone, the columns following the payload), every KPI answer stays on both nodes,
/// the other node's projection is re-keyed, exports agree, and a retried old event is still a
/// duplicate. An erasure stopped after its plan was recorded (or after its rows were rewritten) is
/// finished by the next node to start.
/// </summary>
public sealed class ClusterErasureTests(ClusterServers servers, PostgresServer postgres) : IClassFixture<ClusterServers>, IClassFixture<PostgresServer>
{
    internal const string User = "ana.svensson@example.se";
    private const string Legacy = "anon-ana-legacy";
    private const string Tablet = "anon-family-tablet";

    private static readonly string[] Paths =
    [
        "/api/kpi/query?start_date=2026-02-28&end_date=2026-03-03&aggregate=daily&group_by=country&limit=100000",
        "/api/kpi/query?start_date=2026-02-01&end_date=2026-03-03&aggregate=total&limit=100000",
        "/api/analysis/funnel?steps=page_view,product_viewed,add_to_cart,purchase_completed&start_date=2026-03-01&end_date=2026-03-03",
        "/api/analysis/retention?period=week",
    ];

    [Fact]
    public async Task A_node_erases_as_the_embedded_hub_does_and_every_node_keeps_its_figures()
    {
        var (clickHouse, url, prefix, shared) = await NewClusterAsync();
        using var stateA = PostgresState.Open(shared);
        using var stateB = PostgresState.Open(shared);
        await using var nodeA = await StartNodeAsync(url, prefix, stateA);
        await using var nodeB = await StartNodeAsync(url, prefix, stateB);
        await using var embedded = await TestHub.StartAsync(o => o with { RunScheduler = false, RunAlerts = false });
        var stored = await FeedAsync([embedded, nodeA], nodeB);
        var admin = nodeA.CreateToken(Role.Admin); // tokens are in PostgreSQL: valid on both nodes
        var embeddedAdmin = embedded.CreateToken(Role.Admin);
        var before = new[] { await AnswersAsync(embedded, embeddedAdmin), await AnswersAsync(nodeA, admin), await AnswersAsync(nodeB, admin) };
        Assert.Equal(before[0], before[1]);

        Assert.True(await InAggregatesAsync(clickHouse, User), "before the erasure ClickHouse's visitor sets hold her id's hash");
        var (expectedStatus, expected) = await ErasureTests.EraseAsync(embedded, embeddedAdmin, $$"""{"user_id": "{{User}}"}""");
        var (status, answer) = await ErasureTests.EraseAsync(nodeA, admin, $$"""{"user_id": "{{User}}"}""");

        Assert.Equal(HttpStatusCode.OK, expectedStatus);
        Assert.True(status == HttpStatusCode.OK, answer.GetRawText());
        foreach (var member in new[] { "status", "ids", "events", "quarantined", "person_hash" })
        {
            Assert.Equal(expected.GetProperty(member).GetRawText(), answer.GetProperty(member).GetRawText());
        }
        Assert.Equal("erased", answer.GetProperty("status").GetString());
        Assert.Equal(4, answer.GetProperty("ids").GetInt32()); // her user id, two anonymous ids and the alias's previous id

        // Every figure stays, on the embedded hub and on both nodes.
        Assert.Equal(before[0], await AnswersAsync(embedded, embeddedAdmin));
        Assert.Equal(before[1], await AnswersAsync(nodeA, admin));
        Assert.Equal(before[2], await AnswersAsync(nodeB, admin));

        // ClickHouse's rows are the embedded hub's blocks: the same events, ids replaced by the same
        // kind of pseudonyms (one stem per person), personal fields gone, other events byte for byte.
        var rows = await RowsAsync(clickHouse);
        var blocks = StoredEvents.All(embedded.DataDirectory).ToDictionary(e => e.GetProperty("event_id").GetString()!, e => e.GetRawText(), StringComparer.Ordinal);
        var clusterStem = Stem(rows["ana-0005"].Payload);
        var embeddedStem = Stem(blocks["ana-0005"]);
        Assert.Equal(stored, rows.Count);
        Assert.Equal(blocks.Keys.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var (id, row) in rows)
        {
            Assert.Equal(Comparable(blocks[id], embeddedStem), Comparable(row.Payload, clusterStem));
            // The columns follow the rewritten payload.
            var payload = JsonNode.Parse(row.Payload)!.AsObject();
            Assert.Equal(((string?)payload["user_id"] ?? "", (string?)payload["anonymous_id"] ?? ""), (row.UserId, row.AnonymousId));
        }
        var all = string.Join('\n', rows.Values.Select(r => r.Payload + r.UserId + r.AnonymousId))
            + string.Join('\n', await PostgresServer.ColumnAsync(shared, "SELECT payload FROM failed_events"))
            + string.Join('\n', await PostgresServer.ColumnAsync(shared, "SELECT coalesce(plan, '') || person_hash FROM privacy_erasures"));
        foreach (var trace in new[] { User, "anon-ana-1", "anon-ana-2", Legacy, "203.0.113.77", "AnaPhone/1.0", "ana.svensson%40", "+46 70" })
        {
            Assert.DoesNotContain(trace, all, StringComparison.Ordinal);
        }

        // The months rebuilt: no visitor set in ClickHouse's aggregates holds a hash of her erased ids any more.
        foreach (var id in new[] { User, "anon-ana-1", "anon-ana-2" })
        {
            Assert.False(await InAggregatesAsync(clickHouse, id), id);
        }
        Assert.True(await InAggregatesAsync(clickHouse, rows["ana-0005"].UserId), "her pseudonym counts in her place");

        // Node B's projection was re-keyed by the feed: the pseudonym holds her dense id, the old id none.
        var pseudonym = rows["ana-0005"].UserId;
        Assert.StartsWith("psn_", pseudonym, StringComparison.Ordinal);
        await Wait.UntilAsync(() => Keyed(nodeB, pseudonym) && !Keyed(nodeB, User), "node B's projection is re-keyed");
        Assert.True(Keyed(nodeA, pseudonym) && !Keyed(nodeA, User), "node A's projection is re-keyed once it answers");

        // Exports agree: 404 for her old id on both; the pseudonym's export is the same document.
        Assert.Equal(HttpStatusCode.NotFound, (await AccessHttp.GetAsync(embedded.Client, "/api/privacy/export?user_id=" + Uri.EscapeDataString(User), embeddedAdmin)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await AccessHttp.GetAsync(nodeB.Client, "/api/privacy/export?user_id=" + Uri.EscapeDataString(User), admin)).Status);
        var embeddedExport = await AccessHttp.GetJsonAsync(embedded.Client, "/api/privacy/export?user_id=" + Stem(blocks["ana-0005"]), embeddedAdmin);
        var clusterExport = await AccessHttp.GetJsonAsync(nodeB.Client, "/api/privacy/export?user_id=" + pseudonym, admin);
        Assert.Equal(ExportText(embeddedExport, embeddedStem), ExportText(clusterExport, clusterStem));

        // A repeat on the other node, by a linked id, is "already erased" with the same erasure id.
        var (again, againBody) = await ErasureTests.EraseAsync(nodeB, admin, """{"anonymous_id": "anon-ana-2"}""");
        var (embeddedAgain, embeddedAgainBody) = await ErasureTests.EraseAsync(embedded, embeddedAdmin, """{"anonymous_id": "anon-ana-2"}""");
        Assert.Equal((HttpStatusCode.OK, "already_erased"), (again, againBody.GetProperty("status").GetString()));
        Assert.Equal((HttpStatusCode.OK, "already_erased"), (embeddedAgain, embeddedAgainBody.GetProperty("status").GetString()));
        Assert.Equal(answer.GetProperty("erasure_id").GetString(), againBody.GetProperty("erasure_id").GetString());

        // The audit entries are the embedded hub's: request, done, the repeat; each names the hash only.
        await embedded.Hub.Audit.FlushAsync();
        await nodeA.Hub.Audit.FlushAsync();
        await nodeB.Hub.Audit.FlushAsync();
        const string Audited = "SELECT action || ' ' || status FROM audit_log WHERE action LIKE 'privacy.erasure.%' ORDER BY seq";
        var embeddedAudit = StoredEvents.Query(embedded.DataDirectory, Audited + ";");
        Assert.Equal(["privacy.erasure.request 202", "privacy.erasure.done 200", "privacy.erasure.request 200"], embeddedAudit);
        Assert.Equal(embeddedAudit, (await PostgresServer.ColumnAsync(shared, Audited)).Select(v => (string)v!));
        var parameters = string.Join('\n', await PostgresServer.ColumnAsync(shared, "SELECT params FROM audit_log"));
        Assert.Contains(PersonIds.Hash(User), parameters, StringComparison.Ordinal);
        Assert.DoesNotContain(User, parameters, StringComparison.Ordinal);

        // A retried old event is still a duplicate: its id is unchanged in ClickHouse.
        var retried = ErasureTests.Person(new EventBuilder("ana"))[0];
        using var posted = await nodeB.PostEventsAsync(retried.ToJsonString());
        Assert.Equal(1, JsonDocument.Parse(await posted.Content.ReadAsStringAsync()).RootElement.GetProperty("duplicates").GetInt32());
        Assert.Equal(1, await clickHouse.ScalarInt64Async($"SELECT count() FROM {EventsSchema.Events} WHERE event_id = 'ana-0001'", CancellationToken.None));
    }

    [Theory]
    [InlineData("recorded")]
    [InlineData("events")]
    public async Task An_erasure_stopped_midway_is_finished_by_the_next_node_to_start(string step)
    {
        var (clickHouse, url, prefix, shared) = await NewClusterAsync();
        using var stateA = PostgresState.Open(shared);
        await using var nodeA = await StartNodeAsync(url, prefix, stateA);
        var stored = await FeedAsync([nodeA]);
        var admin = nodeA.CreateToken(Role.Admin);
        var before = await AnswersAsync(nodeA, admin);

        // Stopped as a kill -9 would stop it: after the plan was recorded (nothing changed yet), or
        // after the rows were rewritten (no node re-keyed yet).
        await Assert.ThrowsAsync<InvalidOperationException>(() => nodeA.Hub.ClusterErasure!.EraseAsync(new PersonRef(User, true), "test", "admin",
            s => { if (s == step) { throw new InvalidOperationException("killed"); } }));
        Assert.Equal(["pending"], await PostgresServer.ColumnAsync(shared, "SELECT state FROM privacy_erasures"));
        Assert.Equal(step == "recorded", await NamingAsync(clickHouse, User) > 0);

        using var stateB = PostgresState.Open(shared);
        await using var nodeB = await StartNodeAsync(url, prefix, stateB);

        await Wait.UntilAsync(async () => (await PostgresServer.ColumnAsync(shared, "SELECT state || coalesce(plan, '') FROM privacy_erasures")).SequenceEqual(["done"]),
            "the node that started finishes the pending erasure", seconds: 120);
        Assert.Equal(0, await NamingAsync(clickHouse, User));
        Assert.Equal(0, await NamingAsync(clickHouse, "anon-ana-1"));
        Assert.Equal(stored, (await RowsAsync(clickHouse)).Count);
        var pseudonym = (await RowsAsync(clickHouse))["ana-0005"].UserId;
        // Both projections end re-keyed: node A's by the feed, node B's by the feed or its load.
        await Wait.UntilAsync(() => Keyed(nodeA, pseudonym) && !Keyed(nodeA, User), "node A's projection is re-keyed");
        await Wait.UntilAsync(() => nodeB.Hub.Cluster!.Answering && Keyed(nodeB, pseudonym) && !Keyed(nodeB, User), "node B's projection is re-keyed", seconds: 120);
        Assert.Equal(before, await AnswersAsync(nodeA, admin));
        Assert.Equal(before, await AnswersAsync(nodeB, admin));
        await nodeB.Hub.Audit.FlushAsync();
        Assert.Contains(await PostgresServer.ColumnAsync(shared, "SELECT action || ' ' || actor || ' ' || params FROM audit_log WHERE action = 'privacy.erasure.done'"),
            a => ((string)a!).Contains("system:start-up", StringComparison.Ordinal) && ((string)a!).Contains("\"resumed\":true", StringComparison.Ordinal));
    }

    private async Task<(ClickHouseClient ClickHouse, string Url, string Prefix, string Postgres)> NewClusterAsync()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        return (clickHouse, new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString(), "erasure." + Guid.NewGuid().ToString("N"), await postgres.NewDatabaseAsync());
    }

    private async Task<TestHub> StartNodeAsync(string clickHouseUrl, string prefix, PostgresState state)
    {
        var node = ClusterNode.Create(clickHouseUrl, servers.Rabbit.Uri.ToString(), 4, prefix);
        var hub = await TestHub.StartAsync(o => o with { Cluster = node, Postgres = state, RunScheduler = false, RunAlerts = false });
        await Wait.UntilAsync(() => node.Answering, "the node loaded its projection", seconds: 120);
        return hub;
    }

    /// <summary>Posts Ana's events (with an alias and a refused event) and other people's to each hub; waits until every cluster node holds them. Returns how many are stored.</summary>
    internal static async Task<int> FeedAsync(TestHub[] targets, params TestHub[] alsoWatching)
    {
        var b = new EventBuilder("ana");
        var events = ErasureTests.Person(b);
        events.AddRange(
        [
            b.PageView("2026-03-02T09:00:00Z", "u-parent", "s-tablet-1", Place.Sweden, Tablet),
            b.Order("2026-03-02T09:05:00Z", "o-tablet-1", "mx-001", "u-parent", "s-tablet-1", place: Place.Sweden, anonymous: Tablet),
            b.PageView("2026-03-02T20:00:00Z", "u-teen", "s-tablet-2", Place.Sweden, Tablet),
            b.PageView("2026-03-02T21:00:00Z", "u-other", "s-other-1", Place.Sweden, "anon-other"),
            b.PageView("2026-03-03T21:00:00Z", "u-other", "s-other-2", Place.Mexico, "anon-other"),
        ]);
        var alias = $$"""{"messageId":"ana-alias","userId":"{{User}}","previousId":"{{Legacy}}","timestamp":"2026-03-01T07:59:00Z"}""";
        var refused = $$$"""{"event_id":"ana-bad","event_type":"purchase_completed","timestamp":"2026-03-02T19:11:00Z","user_id":"{{{User}}}","context":{"ip":"203.0.113.77"},"properties":{}}""";
        foreach (var hub in targets)
        {
            using var posted = await hub.PostEventsAsync(EventBuilder.Ndjson(events), "application/x-ndjson");
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            using var aliased = await hub.PostSegmentAsync("/v1/alias", alias);
            Assert.Equal(HttpStatusCode.OK, aliased.StatusCode);
            using var quarantined = await hub.PostEventsAsync(refused);
            Assert.Equal(HttpStatusCode.OK, quarantined.StatusCode);
        }
        var stored = events.Count + 1;
        foreach (var node in targets.Concat(alsoWatching).Where(h => h.Hub.Cluster is not null))
        {
            await Wait.UntilAsync(() => node.Hub.Kpis.Projection.Count == stored, "the node's projection holds every event", seconds: 120);
        }
        return stored;
    }

    internal static async Task<List<string>> AnswersAsync(TestHub hub, string admin)
    {
        var answers = new List<string>();
        foreach (var path in Paths)
        {
            var json = await AccessHttp.GetJsonAsync(hub.Client, path, admin);
            answers.Add(json.GetProperty(path.Contains("funnel", StringComparison.Ordinal) ? "steps" : "data").GetRawText());
        }
        return answers;
    }

    internal static bool Keyed(TestHub hub, string id)
    {
        var projection = hub.Hub.Kpis.Projection;
        using (projection.Read())
        {
            return projection.Pools.Users.Find(id) > 0;
        }
    }

    internal sealed record Row(string UserId, string AnonymousId, string Payload);

    internal static async Task<Dictionary<string, Row>> RowsAsync(ClickHouseClient clickHouse)
    {
        var rows = new Dictionary<string, Row>(StringComparer.Ordinal);
        await foreach (var row in clickHouse.QueryAsync($"SELECT event_id, user_id, anonymous_id, payload FROM {EventsSchema.Events}", CancellationToken.None))
        {
            rows.Add(row[0]!, new Row(row[1]!, row[2]!, row[3]!));
        }
        return rows;
    }

    /// <summary>
    /// Whether the visitor sets of <c>kpi_daily</c> hold <paramref name="id"/>: a set that holds it
    /// counts the same with it added again (the sets keep hashes, so this is how to ask).
    /// </summary>
    private static async Task<bool> InAggregatesAsync(ClickHouseClient clickHouse, string id)
    {
        var all = await clickHouse.ScalarInt64Async($"SELECT uniqExactIfMerge(visitors) FROM {KpiAggregates.Daily}", CancellationToken.None);
        var with = await clickHouse.ScalarInt64Async(
            $"SELECT uniqExactIfMerge(v) FROM (SELECT visitors AS v FROM {KpiAggregates.Daily} UNION ALL SELECT uniqExactIfState({ClickHouseClient.Literal(id)}, toUInt8(1)) AS v)",
            CancellationToken.None);
        return with == all;
    }

    internal static async Task<long> NamingAsync(ClickHouseClient clickHouse, string id) =>
        await clickHouse.ScalarInt64Async(
            $"SELECT count() FROM {EventsSchema.Events} WHERE user_id = {ClickHouseClient.Literal(id)} OR anonymous_id = {ClickHouseClient.Literal(id)} OR position(payload, {ClickHouseClient.Literal(id)}) > 0",
            CancellationToken.None);

    /// <summary>The person's pseudonym stem (the user id of her first order), read from a stored event.</summary>
    private static string Stem(string storedEvent) => JsonNode.Parse(storedEvent)!["user_id"]!.GetValue<string>();

    /// <summary>A stored event less the time each hub received it, with the hub's random pseudonym stem made one text.</summary>
    private static string Comparable(string storedEvent, string stem)
    {
        var o = JsonNode.Parse(storedEvent)!.AsObject();
        o.Remove("received_at");
        return o.ToJsonString().Replace(stem, "psn_STEM", StringComparison.Ordinal);
    }

    internal static string ExportText(JsonElement export, string stem)
    {
        var o = JsonNode.Parse(export.GetRawText())!.AsObject();
        o.Remove("generated_at");
        foreach (var e in o["events"]!.AsArray().Concat(o["quarantined"]!.AsArray()))
        {
            e!.AsObject().Remove("received_at");
        }
        foreach (var member in new[] { "user_ids", "anonymous_ids" })
        {
            o[member] = new JsonArray([.. o[member]!.AsArray().Select(v => v!.GetValue<string>()).Order(StringComparer.Ordinal).Select(v => (JsonNode?)v)]);
        }
        return o.ToJsonString().Replace(stem, "psn_STEM", StringComparison.Ordinal);
    }
}
