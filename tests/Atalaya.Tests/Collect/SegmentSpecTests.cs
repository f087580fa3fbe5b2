using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Quality;
using Atalaya.Tests.Jobs;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Collect;

/// <summary>
/// Segment's e-commerce spec unchanged (docs/collector.md, "Segment e-commerce spec"): the spec's
/// own example payloads, sent by the real Segment Node SDK, are all stored, with the catalog's
/// properties derived from the spec's, and counted (GMV, orders, units, sessions) as a plain
/// computation over the same payloads says; derived sessions do not depend on arrival order;
/// RudderStack's beacon batches and context.traits are kept; the schema-drift check reports
/// neither the spec's properties nor the demo's own events.
/// </summary>
public sealed class SegmentSpecTests
{
    private static readonly DateOnly Yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

    private static DateTime YesterdayNoon => Yesterday.ToDateTime(new TimeOnly(12, 0), DateTimeKind.Utc);

    [Fact]
    public async Task The_real_segment_sdk_sends_every_spec_example_and_the_hub_counts_them_as_a_plain_computation_does()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var output = await RunNodeAsync("send-spec.mjs", hub.Server.BaseAddress.ToString().TrimEnd('/'), hub.Server.WriteKey, "spec",
            YesterdayNoon.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        var sent = JsonDocument.Parse(output).RootElement.GetProperty("sent").EnumerateArray().Select(e => e.GetString()!).ToList();

        var examples = SpecExamples();
        Assert.Equal(examples.Count + 1, sent.Count);
        var stored = StoredEvents.All(hub.Server.DataDirectory).ToDictionary(e => e.GetProperty("event_id").GetString()!);
        Assert.All(sent, id => Assert.True(stored.ContainsKey(id), $"{id} was sent by the SDK but not stored (see the quarantine)"));
        Assert.Equal(0, StoredEvents.Count(hub.Server.DataDirectory, "json_extract(event, '$.custom') = 1"));

        // The derivations, each checked on the stored event.
        var viewed = Properties(stored["spec-2"]);
        Assert.Equal(("Monopoly: 3rd Edition", 18.99m, "Games"),
            (viewed.GetProperty("product_name").GetString(), viewed.GetProperty("product_price").GetDecimal(), viewed.GetProperty("product_category").GetString()));
        Assert.False(viewed.TryGetProperty("store_id", out _), "Product Viewed names no store: left absent, not invented");
        var order = Properties(stored["spec-7"]);
        Assert.Equal("purchase_completed", stored["spec-7"].GetProperty("event_type").GetString());
        Assert.Equal("Google Store", order.GetProperty("store_id").GetString());
        Assert.Equal((27.50m, 22.50m, 3m), (order.GetProperty("total").GetDecimal(), order.GetProperty("subtotal").GetDecimal(), order.GetProperty("delivery_fee").GetDecimal()));
        Assert.Equal(2, order.GetProperty("items").GetArrayLength());
        var minimal = Properties(stored["spec-8"]);
        Assert.Equal((40m, 40m, 0m), (minimal.GetProperty("total").GetDecimal(), minimal.GetProperty("subtotal").GetDecimal(), minimal.GetProperty("delivery_fee").GetDecimal()));
        var checkout = Properties(stored["spec-6"]);
        // total ← total, else revenue, else value: the spec's Checkout Started has revenue 25 and value 30.
        Assert.Equal(("checkout_started", 25m, "Google Store"), (stored["spec-6"].GetProperty("event_type").GetString(),
            checkout.GetProperty("total").GetDecimal(), checkout.GetProperty("store_id").GetString()));
        Assert.Equal("product_list_viewed", stored["spec-1"].GetProperty("event_type").GetString());
        var page = stored["spec-page"];
        Assert.Equal(("page_view", "/academy/"), (page.GetProperty("event_type").GetString(), Properties(page).GetProperty("path").GetString()));

        // The figures, against a plain computation over the same payloads.
        var orders = examples.Where(e => e.Event == "Order Completed").Select(e => e.Properties).ToList();
        var gmv = orders.Sum(p => Number(p, "total") ?? Number(p, "revenue") ?? Number(p, "value") ?? 0);
        var units = orders.Sum(p => p.TryGetProperty("products", out var products)
            ? products.EnumerateArray().Sum(item => Number(item, "quantity") ?? 0) : 0);
        var figures = await KpisAsync(hub, Yesterday, "gmv", "orders", "units_sold", "sessions", "bounce_rate");
        Assert.Equal((double)gmv, figures["gmv"], 6);
        Assert.Equal(orders.Select(p => p.GetProperty("order_id").GetString()).Distinct().Count(), (int)figures["orders"]);
        Assert.Equal((double)units, figures["units_sold"], 6);
        // One person, a minute between calls: one derived session, not a bounce.
        Assert.Equal((1.0, 0.0), (figures["sessions"], figures["bounce_rate"]));
        Assert.Single(stored.Values.Select(e => e.GetProperty("session_id").GetString()).Distinct());

        // The spec's own properties and the hub's segment annotation are not schema drift.
        JobTestData.Run(hub, "daily_batch");
        var run = JobTestData.Run(hub, JobCatalog.QualityJob);
        var drift = QualityResults.Read(hub.Server.Hub.Database, run.RunId).Where(f => f.Check == "schema_drift").ToList();
        Assert.All(drift, f => Assert.True(f.Status == QualityStatus.Ok, $"{f.Subject}: {f.Message}"));
    }

    [Fact]
    public async Task A_type_mismatch_is_still_refused_while_missing_catalog_fields_are_not()
    {
        await using var hub = await TestHub.StartAsync();
        var at = YesterdayNoon.ToString("O", CultureInfo.InvariantCulture);
        var body = $$$"""
            {"batch":[
              {"type":"track","messageId":"m-ok","userId":"u","event":"Order Completed","timestamp":"{{{at}}}","properties":{"order_id":"o-1"}},
              {"type":"track","messageId":"m-bad","userId":"u","event":"Order Completed","timestamp":"{{{at}}}","properties":{"order_id":"o-2","total":"lots"}}
            ]}
            """;
        var json = await Json(await hub.PostSegmentAsync("/v1/batch", body));
        Assert.Equal(1, json.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(json.GetProperty("rejected").EnumerateArray());
        Assert.Equal("m-bad", rejected.GetProperty("event_id").GetString());
        Assert.Contains("properties.total: must be a number", rejected.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
        var stored = Properties(StoredEvents.Single(hub.DataDirectory, "m-ok"));
        Assert.Equal(0m, stored.GetProperty("delivery_fee").GetDecimal());
        Assert.False(stored.TryGetProperty("total", out _));
    }

    [Fact]
    public async Task Derived_sessions_are_the_same_whatever_the_order_of_a_batch_or_of_separate_requests()
    {
        // Person a: 12:00, 12:10, 12:35 (one session: no gap over 30 min), then 13:20 (a second).
        // Person b: 12:05 alone. Person c carries its own context.sessionId, which is kept.
        (string Id, string Person, int Minute)[] minutes = [("a1", "a", 0), ("a2", "a", 10), ("a3", "a", 35), ("a4", "a", 80), ("b1", "b", 5), ("c1", "c", 1)];
        int[][] orders = [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [3, 0, 5, 2, 4, 1]];
        var partitions = new List<string>();
        foreach (var (order, run) in orders.Select((o, i) => (o, i)))
        {
            await using var hub = await TestHub.StartAsync();
            // In time order and shuffled as one batch each; reversed as one request per event, the
            // latest first. (A late event bridging two sessions already stored joins the earlier
            // one: stored events are never rewritten; docs/collector.md says so.)
            var messages = order.Select(i => Message(minutes[i], run)).ToList();
            if (run != 1)
            {
                Assert.Equal(HttpStatusCode.OK, (await hub.PostSegmentAsync("/v1/batch", "{\"batch\":[" + string.Join(',', messages) + "]}")).StatusCode);
            }
            else
            {
                foreach (var message in messages)
                {
                    Assert.Equal(HttpStatusCode.OK, (await hub.PostSegmentAsync("/v1/batch", "{\"batch\":[" + message + "]}")).StatusCode);
                }
            }
            var sessions = minutes.ToDictionary(m => m.Id, m => StoredEvents.Single(hub.DataDirectory, $"{run}-{m.Id}").GetProperty("session_id").GetString()!);
            Assert.Equal("rudder-sess-1", sessions["c1"]);
            // Events grouped by session, as sets of event names: independent of the ids' spelling.
            partitions.Add(string.Join(" | ", sessions.GroupBy(s => s.Value).Select(g => string.Join(",", g.Select(s => s.Key).Order())).Order()));
        }
        Assert.Equal("a1,a2,a3 | a4 | b1 | c1", partitions[0]);
        Assert.All(partitions, p => Assert.Equal(partitions[0], p));

        static string Message((string Id, string Person, int Minute) m, int run)
        {
            var at = YesterdayNoon.AddMinutes(m.Minute).ToString("O", CultureInfo.InvariantCulture);
            var context = m.Person == "c" ? ""","context":{"sessionId":"rudder-sess-1"}""" : "";
            return $$$"""{"type":"page","messageId":"{{{run}}}-{{{m.Id}}}","anonymousId":"anon-{{{m.Person}}}","timestamp":"{{{at}}}","properties":{"url":"https://shop.example/{{{m.Id}}}"}{{{context}}}}""";
        }
    }

    [Fact]
    public async Task A_visit_begun_anonymously_stays_one_session_after_a_login_and_with_server_calls_of_the_user()
    {
        await using var hub = await TestHub.StartAsync();
        string At(int minute) => YesterdayNoon.AddMinutes(minute).ToString("O", CultureInfo.InvariantCulture);
        // The browser before and after identify (Segment then sends both ids), then the shop's server with the userId alone.
        var body = $$$"""
            {"batch":[
              {"type":"page","messageId":"v-1","anonymousId":"anon-x","timestamp":"{{{At(0)}}}","properties":{"url":"https://shop.example/"}},
              {"type":"identify","messageId":"v-2","anonymousId":"anon-x","userId":"u-x","timestamp":"{{{At(2)}}}","traits":{"plan":"pro"}},
              {"type":"track","messageId":"v-3","anonymousId":"anon-x","userId":"u-x","event":"Product Added","timestamp":"{{{At(4)}}}","properties":{"product_id":"p-1","price":9.5,"quantity":1,"store_id":"st-1"}},
              {"type":"track","messageId":"v-4","userId":"u-x","event":"Order Completed","timestamp":"{{{At(6)}}}","properties":{"order_id":"o-x","total":9.5,"currency":"USD"}},
              {"type":"page","messageId":"v-5","anonymousId":"anon-y","timestamp":"{{{At(6)}}}","properties":{"url":"https://shop.example/"}}
            ]}
            """;
        Assert.Equal(5, (await Json(await hub.PostSegmentAsync("/v1/batch", body))).GetProperty("accepted").GetInt32());
        string? Session(string id) => StoredEvents.Single(hub.DataDirectory, id).TryGetProperty("session_id", out var s) ? s.GetString() : null;
        Assert.NotNull(Session("v-1"));
        Assert.Equal([Session("v-1")], new[] { "v-1", "v-3", "v-4" }.Select(Session).Distinct());
        Assert.NotEqual(Session("v-1"), Session("v-5"));
    }

    [Fact]
    public async Task A_beacon_batch_with_the_write_key_in_the_query_is_stored_once_and_an_unknown_key_is_refused()
    {
        await using var hub = await TestHub.StartAsync();
        var at = YesterdayNoon.ToString("O", CultureInfo.InvariantCulture);
        var body = $$$"""{"batch":[{"type":"track","messageId":"beacon-1","anonymousId":"anon-1","event":"Product Added","timestamp":"{{{at}}}","properties":{"product_id":"p-1","price":9.5,"quantity":1,"store_id":"st-1"}}],"sentAt":"{{{at}}}"}""";

        // sendBeacon posts text/plain with no Authorization header.
        async Task<HttpResponseMessage> Beacon(string path) =>
            await hub.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "text/plain"));

        var first = await Beacon("/beacon/v1/batch?writeKey=" + Uri.EscapeDataString(hub.WriteKey));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(1, (await Json(first)).GetProperty("accepted").GetInt32());
        var retry = await Beacon("/v1/batch?writeKey=" + Uri.EscapeDataString(hub.WriteKey));
        Assert.Equal(1, (await Json(retry)).GetProperty("duplicates").GetInt32());
        Assert.Equal(1, StoredEvents.Count(hub.DataDirectory));
        Assert.Equal("add_to_cart", StoredEvents.Single(hub.DataDirectory, "beacon-1").GetProperty("event_type").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, (await Beacon("/beacon/v1/batch?writeKey=nope")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Beacon("/beacon/v1/batch")).StatusCode);
        var readToken = hub.CreateToken(Engine.Access.Role.Admin);
        Assert.Equal(HttpStatusCode.Forbidden, (await Beacon("/beacon/v1/batch?writeKey=" + Uri.EscapeDataString(readToken))).StatusCode);
        Assert.Equal(1, StoredEvents.Count(hub.DataDirectory));
    }

    [Fact]
    public async Task Identify_traits_are_read_from_traits_and_from_context_traits()
    {
        await using var hub = await TestHub.StartAsync();
        // RudderStack's browser SDK puts an identify's traits in context.traits.
        var body = """
            {"batch":[
              {"type":"identify","messageId":"id-rudder","userId":"u-1","anonymousId":"a-1","context":{"traits":{"email":"ana@example.com","plan":"pro"}}},
              {"type":"identify","messageId":"id-both","userId":"u-2","traits":{"plan":"free"},"context":{"traits":{"plan":"pro","country":"MX"}}}
            ]}
            """;
        Assert.Equal(2, (await Json(await hub.PostSegmentAsync("/v1/batch", body))).GetProperty("accepted").GetInt32());
        var rudder = Properties(StoredEvents.Single(hub.DataDirectory, "id-rudder")).GetProperty("traits");
        Assert.Equal(("ana@example.com", "pro"), (rudder.GetProperty("email").GetString(), rudder.GetProperty("plan").GetString()));
        var both = Properties(StoredEvents.Single(hub.DataDirectory, "id-both")).GetProperty("traits");
        Assert.Equal(("free", "MX"), (both.GetProperty("plan").GetString(), both.GetProperty("country").GetString()));
        // An identify is not a visit: no derived session (it would keep one-page visits from being bounces).
        Assert.False(StoredEvents.Single(hub.DataDirectory, "id-rudder").TryGetProperty("session_id", out _));
    }

    [Fact]
    public async Task A_fresh_demo_quality_run_reports_no_schema_drift()
    {
        // As serve --demo does: the demo's events imported, the marts built, then the checks run.
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 8, Seed: 7, SessionsPerDay: 300, PlantedPairs: true));
        var types = hub.Reference.AllEvents.Select(e => e.Type).ToHashSet();
        Assert.Contains("coupon_applied", types);
        Assert.Contains("courier_assigned", types);
        Assert.DoesNotContain(hub.Reference.AllEvents, e => e.IsCustom);
        JobTestData.Run(hub, "daily_batch");
        var run = JobTestData.Run(hub, JobCatalog.QualityJob);
        var drift = QualityResults.Read(hub.Server.Hub.Database, run.RunId).Where(f => f.Check == "schema_drift").ToList();
        var finding = Assert.Single(drift);
        Assert.True(finding.Status == QualityStatus.Ok, $"{finding.Subject}: {finding.Message}");
    }

    [Fact]
    public void The_previous_catalog_versions_still_validate_as_before()
    {
        var v3 = Engine.Catalog.EventCatalog.Parse(typeof(Engine.Catalog.EventCatalog).Assembly
            .GetManifestResourceStream("Atalaya.Catalog.catalog.v3.json")!, "catalog.v3.json");
        Assert.Equal(3, v3.Version);
        Assert.False(v3.TryGet("coupon_applied", out _));
        Assert.True(Engine.Catalog.EventCatalog.Default.Version >= 4);
        Assert.True(Engine.Catalog.EventCatalog.Default.TryGet("courier_assigned", out var courier));
        Assert.Equal(["order_id", "courier_id"], courier.Properties.Where(p => p.Required).Select(p => p.Name));
        // Every type of v3 keeps its rules in the new version.
        foreach (var old in v3.Types)
        {
            Assert.True(Engine.Catalog.EventCatalog.Default.TryGet(old.Type, out var now), old.Type);
            Assert.Equal(old.Properties.Select(p => (p.Name, p.Kind, p.Required)), now.Properties.Select(p => (p.Name, p.Kind, p.Required)));
        }
    }

    internal static List<(string Event, JsonElement Properties)> SpecExamples()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(SdkFolder(), "spec-examples.json")));
        return [.. document.RootElement.GetProperty("events").EnumerateArray()
            .Select(e => (e.GetProperty("event").GetString()!, e.GetProperty("properties").Clone()))];
    }

    internal static async Task<Dictionary<string, double>> KpisAsync(KpiHub hub, DateOnly day, params string[] metrics)
    {
        var answer = await hub.Api.QueryAsync(new KpiQuery(day, day) { Metrics = metrics });
        return answer.Rows.ToDictionary(r => r.Metric, r => r.Value ?? double.NaN);
    }

    private static JsonElement Properties(JsonElement stored) => stored.GetProperty("properties");

    private static decimal? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDecimal() : null;

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    internal static string SdkFolder()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
        {
            directory = directory.Parent;
        }
        var folder = Path.Combine(directory?.FullName ?? throw new InvalidOperationException("Atalaya.slnx not found above the test output folder."), "tests", "sdk");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules")), "tests/sdk/node_modules is missing: scripts/test.sh installs it (npm install --prefix tests/sdk).");
        return folder;
    }

    /// <summary>Runs a script of tests/sdk with node; returns its last line of output (the script's JSON summary).</summary>
    internal static async Task<string> RunNodeAsync(string script, params string[] args)
    {
        var info = new ProcessStartInfo("node") { WorkingDirectory = SdkFolder(), RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(node.ExitCode == 0, $"node {script} exited {node.ExitCode}: {await stdout} {await stderr}");
        return (await stdout).Trim().Split('\n')[^1];
    }
}
