using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Privacy;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Privacy;

/// <summary>
/// Erasure by pseudonymization (docs/privacy.md) on a real hub with demo data and one person who
/// matters to the figures: first orders, a returning order on another day, sessions across days,
/// anonymous browsing before signing in. Every KPI, funnel, retention and top-products answer is
/// the same before, after, and after a restart; nothing stored names the person any more.
/// </summary>
public sealed class ErasureTests
{
    private const string User = "ana.svensson@example.se";
    private const string FirstAnonymous = "anon-ana-1";
    private const string SecondAnonymous = "anon-ana-2";

    private static readonly string[] Paths =
    [
        "/api/kpi/query?start_date=2026-02-28&end_date=2026-03-03&aggregate=daily&group_by=country&limit=100000",
        "/api/kpi/query?start_date=2026-03-01&end_date=2026-03-03&aggregate=hourly&tz=Europe/Stockholm&limit=100000",
        "/api/kpi/query?start_date=2026-02-23&end_date=2026-03-03&aggregate=weekly&group_by=store_id,platform&country=MX,SE&limit=100000",
        "/api/kpi/query?start_date=2026-02-01&end_date=2026-03-03&aggregate=total&limit=100000",
        "/api/analysis/funnel?steps=page_view,product_viewed,add_to_cart,purchase_completed&start_date=2026-03-01&end_date=2026-03-03",
        "/api/analysis/retention?period=week",
        "/api/analysis/retention?period=month",
        "/api/analysis/top-products?start_date=2026-03-01&end_date=2026-03-03&limit=20",
    ];

    /// <summary>Ana: anonymous browsing, a first order, a returning order the next day, an identify with traits, a quarantined event.</summary>
    internal static List<JsonObject> Person(EventBuilder b)
    {
        var place = Place.Sweden;
        var events = new List<JsonObject>
        {
            b.PageView("2026-03-01T08:00:00Z", null, "s-ana-1", place, FirstAnonymous),
            b.ProductView("2026-03-01T08:01:00Z", null, "s-ana-1", "mx-001", "p-ana", place: place, anonymous: FirstAnonymous),
            b.PageView("2026-03-01T08:02:00Z", User, "s-ana-1", place, FirstAnonymous),
            b.AddToCart("2026-03-01T08:03:00Z", User, "s-ana-1", "mx-001", "p-ana", place, FirstAnonymous),
            b.Order("2026-03-01T08:05:00Z", "o-ana-1", "mx-001", User, "s-ana-1", place: place, anonymous: FirstAnonymous),
            b.Status("2026-03-01T12:00:00Z", "o-ana-1", "mx-001", "ENTREGADO"),
            b.PageView("2026-03-02T19:00:00Z", null, "s-ana-2", place, SecondAnonymous),
            b.Add("identify", "2026-03-02T19:01:00Z", User, "s-ana-2", place, new JsonObject
            {
                ["email"] = "ana.svensson@example.se",
                ["phone"] = "+46 70 123 45 67",
                ["plan"] = "gold",
            }, SecondAnonymous),
            b.Order("2026-03-02T19:10:00Z", "o-ana-2", "mx-001", User, "s-ana-2", place: place, items: [("p-ana", 1, 80m)]),
            b.PageView("2026-03-03T07:00:00Z", User, "s-ana-3", place),
        };
        foreach (var e in events.Where(e => e["user_id"] is not null || e["anonymous_id"] is not null))
        {
            var context = e["context"]!.AsObject();
            context["ip"] = "203.0.113.77";
            context["user_agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 AnaPhone/1.0";
            context["page_url"] = "https://shop.example/checkout?email=ana.svensson%40example.se&ref=mail";
        }
        return events;
    }

    internal static async Task<KpiHub> StartAsync()
    {
        var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 3, Seed: 21, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 40));
        // One request per day, so the person's events sit in several blocks among other people's.
        var b = new EventBuilder("ana");
        foreach (var day in Person(b).GroupBy(e => e["timestamp"]!.GetValue<string>()[..10]))
        {
            await hub.PostAsync(day);
        }
        // A rejected event of hers lands in the quarantine with its payload.
        using var rejected = await hub.Server.PostEventsAsync(
            $$$"""{"event_id":"ana-bad","event_type":"purchase_completed","timestamp":"2026-03-02T19:11:00Z","user_id":"{{{User}}}","context":{"ip":"203.0.113.77"},"properties":{}}""");
        Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        return hub;
    }

    internal static async Task<List<string>> AnswersAsync(KpiHub hub)
    {
        var answers = new List<string>();
        foreach (var path in Paths)
        {
            var json = await hub.Api.GetJsonAsync(path);
            answers.Add(json.GetProperty(path.Contains("funnel", StringComparison.Ordinal) ? "steps" : "data").GetRawText());
        }
        return answers;
    }

    internal static void AssertSame(List<string> before, List<string> after, string when)
    {
        for (var i = 0; i < Paths.Length; i++)
        {
            Assert.True(before[i] == after[i], $"{Paths[i]} answers differently {when}:\nbefore {MetricsClient.Clip(before[i])}\nafter  {MetricsClient.Clip(after[i])}");
        }
    }

    internal static async Task<(HttpStatusCode Status, JsonElement Body)> EraseAsync(TestHub server, string token, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/privacy/erasure")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Every text the database holds where a person could be: raw events, the quarantine, the audit log, the erasure records.</summary>
    internal static string StoredText(string dataDirectory) => string.Join('\n',
        StoredEvents.Query(dataDirectory, "SELECT event FROM raw_events;")
            .Concat(StoredEvents.Query(dataDirectory, "SELECT payload FROM failed_events;"))
            .Concat(StoredEvents.Query(dataDirectory, "SELECT params FROM audit_log;"))
            .Concat(StoredEvents.Query(dataDirectory, "SELECT coalesce(plan, '') || person_hash FROM privacy_erasures;")));

    [Fact]
    public async Task Erasing_a_person_keeps_every_figure_and_leaves_no_trace_of_them()
    {
        await using var hub = await StartAsync();
        var reference = hub.Reference;
        var before = await AnswersAsync(hub);
        var storedBefore = StoredEvents.Count(hub.Server.DataDirectory);
        Assert.Contains(User, StoredText(hub.Server.DataDirectory), StringComparison.Ordinal);

        var (status, body) = await EraseAsync(hub.Server, hub.AdminToken, $$"""{"user_id": "{{User}}"}""");

        Assert.True(status == HttpStatusCode.OK, body.GetRawText());
        Assert.Equal("erased", body.GetProperty("status").GetString());
        Assert.Equal(3, body.GetProperty("ids").GetInt32()); // the user id and both anonymous ids seen with it
        Assert.Equal(9, body.GetProperty("events").GetInt32()); // the order's status change names no one
        Assert.Equal(1, body.GetProperty("quarantined").GetInt32());
        AssertSame(before, await AnswersAsync(hub), "after the erasure");

        var stored = StoredText(hub.Server.DataDirectory);
        foreach (var trace in new[] { User, FirstAnonymous, SecondAnonymous, "203.0.113.77", "AnaPhone/1.0", "ana.svensson%40", "+46 70" })
        {
            Assert.DoesNotContain(trace, stored, StringComparison.Ordinal);
        }
        Assert.Equal(storedBefore, StoredEvents.Count(hub.Server.DataDirectory));
        // Her events are still there, each under the one pseudonym of the person (a suffix per linked id).
        var events = StoredEvents.All(hub.Server.DataDirectory).Where(e => e.GetProperty("event_id").GetString()!.StartsWith("ana-", StringComparison.Ordinal)
            && (e.TryGetProperty("user_id", out _) || e.TryGetProperty("anonymous_id", out _))).ToList();
        Assert.Equal(9, events.Count);
        var pseudonym = events.Single(e => e.GetProperty("event_id").GetString() == "ana-0005").GetProperty("user_id").GetString()!;
        Assert.StartsWith("psn_", pseudonym, StringComparison.Ordinal);
        Assert.All(events, e => Assert.StartsWith(pseudonym, (e.TryGetProperty("user_id", out var u) ? u : e.GetProperty("anonymous_id")).GetString(), StringComparison.Ordinal));
        Assert.All(events, e => Assert.False(e.GetProperty("context").TryGetProperty("ip", out _)));
        var identify = events.Single(e => e.GetProperty("event_type").GetString() == "identify");
        Assert.Equal("gold", identify.GetProperty("properties").GetProperty("plan").GetString());
        Assert.False(identify.GetProperty("properties").TryGetProperty("email", out _));
        Assert.Equal("https://shop.example/checkout", events[0].GetProperty("context").GetProperty("page_url").GetString());

        // The answers after the erasure are those the plain reference computes from the original events.
        var query = new KpiQuery(new DateOnly(2026, 2, 28), new DateOnly(2026, 3, 3)) { GroupBy = ["country"] };
        var differences = KpiComparison.Differences(KpiReference.Query(reference, query), await hub.Api.QueryAsync(query), query);
        Assert.True(differences.Count == 0, KpiComparison.Describe("after the erasure vs the reference of the original events: " + query, differences));

        // A restart (snapshot reload) and a rebuild from the raw events answer the same too.
        await hub.RestartAsync();
        AssertSame(before, await AnswersAsync(hub), "after a restart");
        await hub.RestartAsync(() => File.Delete(Engine.Hub.SnapshotPath(hub.Server.DataDirectory)));
        AssertSame(before, await AnswersAsync(hub), "after a rebuild from raw events");

        // Idempotent: the same request, or one naming a linked id, is answered without change.
        var (again, againBody) = await EraseAsync(hub.Server, hub.AdminToken, $$"""{"anonymous_id": "{{SecondAnonymous}}"}""");
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal("already_erased", againBody.GetProperty("status").GetString());
        Assert.Equal(body.GetProperty("erasure_id").GetString(), againBody.GetProperty("erasure_id").GetString());

        // Audited with the hash only: the request and its completion.
        await hub.Server.Hub.Audit.FlushAsync();
        var audit = StoredEvents.Query(hub.Server.DataDirectory, "SELECT action || ' ' || params || ' ' || status FROM audit_log WHERE action LIKE 'privacy.%' OR action LIKE '%/api/privacy/%' ORDER BY seq;");
        var hash = PersonIds.Hash(User);
        Assert.Contains(audit, a => a.StartsWith("privacy.erasure.request", StringComparison.Ordinal) && a.Contains(hash, StringComparison.Ordinal));
        Assert.Contains(audit, a => a.StartsWith("privacy.erasure.done", StringComparison.Ordinal) && a.Contains(hash, StringComparison.Ordinal));
        Assert.Contains(audit, a => a.StartsWith("POST /api/privacy/erasure", StringComparison.Ordinal) && a.Contains(hash, StringComparison.Ordinal));
        Assert.True(Engine.Audit.AuditLog.Verify(Connect(hub.Server.DataDirectory)).Intact);
    }

    [Fact]
    public async Task Unknown_people_bad_requests_and_other_roles_get_clear_answers()
    {
        await using var hub = await StartAsync();
        var (status, body) = await EraseAsync(hub.Server, hub.AdminToken, """{"user_id": "nobody@example.com"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("nothing to erase", body.GetProperty("error").GetString(), StringComparison.Ordinal);
        await hub.Server.Hub.Audit.FlushAsync();
        var audit = StoredEvents.Query(hub.Server.DataDirectory, "SELECT params || ' ' || status FROM audit_log;");
        Assert.Contains(audit, a => a.Contains(PersonIds.Hash("nobody@example.com"), StringComparison.Ordinal) && a.EndsWith(" 404", StringComparison.Ordinal));
        Assert.DoesNotContain(audit, a => a.Contains("nobody@example.com", StringComparison.Ordinal));

        foreach (var (bad, expected) in new[]
        {
            ("""{}""", "exactly one of user_id or anonymous_id"),
            ("""{"user_id": "a", "anonymous_id": "b"}""", "exactly one of user_id or anonymous_id"),
            ("""{"user_id": 42}""", "user_id: must be a string"),
            ("""{"user_id": ""}""", "user_id: must be a non-empty id"),
            ("""{"email": "x@example.com"}""", "unknown member 'email'"),
            ("""[1]""", "must be a JSON object"),
            ("""{"user_id": """, "must be a JSON object"),
        })
        {
            var (s, b) = await EraseAsync(hub.Server, hub.AdminToken, bad);
            Assert.True(s == HttpStatusCode.BadRequest, $"{bad} → {(int)s} {b.GetRawText()}");
            Assert.Contains(expected, b.GetProperty("error").GetString(), StringComparison.Ordinal);
        }
        var analyst = hub.Server.CreateToken(Role.Analyst);
        var (forbidden, _) = await EraseAsync(hub.Server, analyst, $$"""{"user_id": "{{User}}"}""");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden);
        var (export, _) = await hub.Api.GetAsync($"/api/privacy/export?user_id={Uri.EscapeDataString(User)}", analyst);
        Assert.Equal(HttpStatusCode.Forbidden, export);
        // Nothing was erased by any of these.
        Assert.Contains(User, StoredText(hub.Server.DataDirectory), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_answers_everything_stored_about_the_person()
    {
        await using var hub = await StartAsync();
        var (status, text) = await hub.Api.GetAsync($"/api/privacy/export?anonymous_id={FirstAnonymous}");
        Assert.True(status == HttpStatusCode.OK, text);
        using var document = JsonDocument.Parse(text);
        var export = document.RootElement;
        Assert.Equal([User], export.GetProperty("user_ids").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([FirstAnonymous, SecondAnonymous], export.GetProperty("anonymous_ids").EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal));
        var expected = StoredEvents.All(hub.Server.DataDirectory)
            .Where(e => e.GetProperty("event_id").GetString()!.StartsWith("ana-", StringComparison.Ordinal) && (e.TryGetProperty("user_id", out _) || e.TryGetProperty("anonymous_id", out _)))
            .Select(e => e.GetProperty("event_id").GetString()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, export.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event_id").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal("203.0.113.0", export.GetProperty("events")[0].GetProperty("context").GetProperty("ip").GetString()); // stored truncated
        Assert.Single(export.GetProperty("quarantined").EnumerateArray());

        var (missing, _) = await hub.Api.GetAsync("/api/privacy/export?user_id=nobody");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        var (bad, badText) = await hub.Api.GetAsync("/api/privacy/export?user_id=a&anonymous_id=b");
        Assert.True(bad == HttpStatusCode.BadRequest, badText);
        await hub.Server.Hub.Audit.FlushAsync();
        var audit = StoredEvents.Query(hub.Server.DataDirectory, "SELECT params FROM audit_log WHERE action = 'GET /api/privacy/export';");
        Assert.Equal(3, audit.Count);
        Assert.DoesNotContain(audit, a => a.Contains(FirstAnonymous, StringComparison.Ordinal) || a.Contains("nobody", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_erasure_stopped_midway_is_finished_at_the_next_start_with_the_same_figures()
    {
        await using var hub = await StartAsync();
        var before = await AnswersAsync(hub);
        var server = hub.Server.Hub;
        // Stopped right after its first blocks were swapped, as a kill -9 would stop it: the projection
        // and its snapshot still have the old ids; the plan is pending on disk.
        await Assert.ThrowsAsync<InvalidOperationException>(() => server.Erasure.EraseAsync(new PersonRef(User, true), "test", "admin",
            step => { if (step == "blocks") { throw new InvalidOperationException("killed"); } }));
        Assert.Equal(["pending"], StoredEvents.Query(hub.Server.DataDirectory, "SELECT state FROM privacy_erasures;"));

        await hub.RestartAsync();

        Assert.Equal(["done"], StoredEvents.Query(hub.Server.DataDirectory, "SELECT state || coalesce(plan, '') FROM privacy_erasures;"));
        AssertSame(before, await AnswersAsync(hub), "after the resumed erasure");
        Assert.DoesNotContain(User, StoredText(hub.Server.DataDirectory), StringComparison.Ordinal);
        Assert.DoesNotContain(FirstAnonymous, StoredText(hub.Server.DataDirectory), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_blocks_stay_append_only_outside_an_erasure()
    {
        await using var hub = await StartAsync();
        using var connection = Connect(hub.Server.DataDirectory);
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE event_blocks SET events = x'00' WHERE block_id = (SELECT min(block_id) FROM event_blocks);";
        var e = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => command.ExecuteNonQuery());
        Assert.Contains("append-only", e.Message, StringComparison.Ordinal);
        // Even a sanctioned rewrite may not touch a block's ids or sequence numbers.
        command.CommandText = """
            INSERT INTO privacy_erasures (erasure_id, person_hash, requested_at, state, cut_seq, rewriting_block)
                SELECT 'era_test', 'sha256:x', '2026-03-01T00:00:00Z', 'pending', 0, min(block_id) FROM event_blocks;
            UPDATE event_blocks SET id_hashes = x'00' WHERE block_id = (SELECT min(block_id) FROM event_blocks);
            """;
        e = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => command.ExecuteNonQuery());
        Assert.Contains("only the events", e.Message, StringComparison.Ordinal);
    }

    internal static Microsoft.Data.Sqlite.SqliteConnection Connect(string dataDirectory)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDirectory, "atalaya.db")};Pooling=False");
        connection.Open();
        return connection;
    }

    [Fact]
    public async Task An_anonymous_id_seen_only_beside_other_users_ids_is_found_and_erased_with_the_figures_kept()
    {
        await using var hub = await StartAsync();
        // A family tablet: two signed-in people browse on one device id, which is never on its own.
        const string Tablet = "anon-family-tablet";
        var b = new EventBuilder("tablet");
        await hub.PostAsync(
        [
            b.PageView("2026-03-02T09:00:00Z", "u-parent", "s-tablet-1", Place.Sweden, Tablet),
            b.Order("2026-03-02T09:05:00Z", "o-tablet-1", "mx-001", "u-parent", "s-tablet-1", place: Place.Sweden, anonymous: Tablet),
            b.PageView("2026-03-02T20:00:00Z", "u-teen", "s-tablet-2", Place.Sweden, Tablet),
        ]);
        hub.Refresh();
        var before = await AnswersAsync(hub);
        Assert.Contains(Tablet, StoredText(hub.Server.DataDirectory), StringComparison.Ordinal);

        var (exported, exportText) = await hub.Api.GetAsync($"/api/privacy/export?anonymous_id={Tablet}");
        Assert.True(exported == HttpStatusCode.OK, exportText);
        using (var export = JsonDocument.Parse(exportText))
        {
            Assert.Equal(3, export.RootElement.GetProperty("events").GetArrayLength());
            // Two people on the device: neither user id is taken for the device's person.
            Assert.Empty(export.RootElement.GetProperty("user_ids").EnumerateArray());
        }

        var (status, body) = await EraseAsync(hub.Server, hub.AdminToken, $$"""{"anonymous_id": "{{Tablet}}"}""");
        Assert.True(status == HttpStatusCode.OK, body.GetRawText());
        Assert.Equal(3, body.GetProperty("events").GetInt32());
        Assert.DoesNotContain(Tablet, StoredText(hub.Server.DataDirectory), StringComparison.Ordinal);
        AssertSame(before, await AnswersAsync(hub), "after erasing the shared device's id");
        // The two users keep their own ids.
        var events = StoredEvents.All(hub.Server.DataDirectory).Where(e => e.GetProperty("event_id").GetString()!.StartsWith("tablet-", StringComparison.Ordinal)).ToList();
        Assert.Equal(["u-parent", "u-parent", "u-teen"], events.Select(e => e.GetProperty("user_id").GetString()).Order(StringComparer.Ordinal));
        Assert.All(events, e => Assert.StartsWith("psn_", e.GetProperty("anonymous_id").GetString(), StringComparison.Ordinal));
        await hub.RestartAsync(() => File.Delete(Engine.Hub.SnapshotPath(hub.Server.DataDirectory)));
        AssertSame(before, await AnswersAsync(hub), "after a rebuild from raw events");
    }

    [Fact]
    public async Task An_alias_previous_id_is_linked_to_its_user_exported_with_them_and_erased_with_them()
    {
        await using var hub = await StartAsync();
        const string Legacy = "anon-ana-legacy";
        using (var aliased = await hub.Server.PostSegmentAsync("/v1/alias",
            $$"""{"messageId":"ana-alias","userId":"{{User}}","previousId":"{{Legacy}}","timestamp":"2026-03-01T07:59:00Z"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, aliased.StatusCode);
        }
        hub.Refresh();
        var before = await AnswersAsync(hub);

        // From either side of the alias, the same person: the previous id leads to the user and back.
        foreach (var person in new[] { $"user_id={Uri.EscapeDataString(User)}", $"anonymous_id={Legacy}" })
        {
            var export = await hub.Api.GetJsonAsync($"/api/privacy/export?{person}");
            Assert.Equal([User], export.GetProperty("user_ids").EnumerateArray().Select(e => e.GetString()));
            Assert.Contains(Legacy, export.GetProperty("anonymous_ids").EnumerateArray().Select(e => e.GetString()));
            Assert.Contains("ana-alias", export.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event_id").GetString()));
        }

        var (status, body) = await EraseAsync(hub.Server, hub.AdminToken, $$"""{"user_id": "{{User}}"}""");
        Assert.True(status == HttpStatusCode.OK, body.GetRawText());
        var stored = StoredText(hub.Server.DataDirectory);
        Assert.DoesNotContain(Legacy, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(User, stored, StringComparison.Ordinal);
        var alias = StoredEvents.Single(hub.Server.DataDirectory, "ana-alias");
        Assert.StartsWith("psn_", alias.GetProperty("properties").GetProperty("previous_id").GetString(), StringComparison.Ordinal);
        AssertSame(before, await AnswersAsync(hub), "after erasing a person with an alias");
    }
}
