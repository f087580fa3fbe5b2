using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Access;
using Atalaya.Engine.Config;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Recommendations;

/// <summary>
/// <c>GET /api/recommendations</c> on a real hub: what each kind learns from (delivered orders
/// only, sessions, a person's views), the scope (same store, tokens), stock, fallback, errors and
/// audit. Expected scores are recomputed here from the posted baskets (cosine = c(a,b)/√(c(a)c(b))).
/// </summary>
public sealed class RecommendationApiTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static string Ago(double hours) => EventBuilder.At(Now.AddHours(-hours));

    /// <summary>
    /// Store mx-100 sells A–F, mx-200 (same country) X, co-300 (Colombia) K. Orders: A+B twice and
    /// A+E once delivered, A+C cancelled, A+D delivered then refunded. Sessions: A with X, A with C.
    /// </summary>
    private static List<JsonObject> Marketplace()
    {
        var b = new EventBuilder("rec");
        b.StoreCreated(Ago(200), "mx-100", "MX", "cdmx-norte");
        b.StoreCreated(Ago(200), "mx-200", "MX", "cdmx-sur");
        b.StoreCreated(Ago(200), "co-300", "CO", "bogota");
        var order = 0;
        void Basket(string status, params string[] products)
        {
            var id = $"o-{++order}";
            b.Order(Ago(100 - order), id, "mx-100", "u-buyer", items: [.. products.Select(p => (p, 1, 50m))]);
            b.Status(Ago(99 - order), id, "mx-100", status);
            if (status == "REEMBOLSADO")
            {
                b.Status(Ago(100 - order), id, "mx-100", "ENTREGADO");
            }
        }
        Basket("ENTREGADO", "A", "B");
        Basket("ENTREGADO", "A", "B");
        Basket("ENTREGADO", "A", "E");
        Basket("CANCELADO", "A", "C");
        Basket("REEMBOLSADO", "A", "D");
        b.ProductView(Ago(50), null, "s-1", "mx-100", "A", "Taco A", anonymous: "anon-1");
        b.ProductView(Ago(49.9), null, "s-1", "mx-200", "X", "Taco X", anonymous: "anon-1");
        b.ProductView(Ago(40), "u-2", "s-2", "mx-100", "A", "Taco A");
        b.ProductView(Ago(39.9), "u-2", "s-2", "mx-100", "C", "Taco C");
        b.ProductView(Ago(30), "u-3", "s-3", "co-300", "K", "Arepa K", Place.Colombia);
        b.ProductView(Ago(29.9), "u-3", "s-3", "mx-100", "F", "Taco F");
        b.Add("inventory_snapshot", Ago(10), null, properties: new JsonObject { ["store_id"] = "mx-100", ["product_id"] = "G", ["quantity_available"] = 4 }, place: Place.Backend);
        return [.. b.Events];
    }

    private static async Task<TestHub> StartAsync(IEnumerable<JsonObject> events, Func<Http.ServeOptions, Http.ServeOptions>? configure = null)
    {
        var hub = await TestHub.StartAsync(configure);
        await hub.Hub.Recommendations.Loaded.WaitAsync(TimeSpan.FromSeconds(60));
        await PostAsync(hub, events);
        return hub;
    }

    private static async Task PostAsync(TestHub hub, IEnumerable<JsonObject> events)
    {
        using var response = await hub.PostEventsAsync(EventBuilder.Ndjson(events), "application/x-ndjson");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal(0, JsonDocument.Parse(body).RootElement.GetProperty("rejected").GetArrayLength());
        // The model applies commits beside the writer: wait until it has these.
        await hub.Hub.Recommendations.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(TestHub hub, string query, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/recommendations" + query);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await hub.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static List<(string Product, double Score, string Reason)> Data(JsonElement body) =>
        [.. body.GetProperty("data").EnumerateArray().Select(e => (e.GetProperty("product_id").GetString()!, e.GetProperty("score").GetDouble(), e.GetProperty("reason").GetString()!))];

    [Fact]
    public async Task Bought_together_counts_delivered_orders_only_and_scores_by_cosine()
    {
        await using var hub = await StartAsync(Marketplace());
        var (status, body) = await GetAsync(hub, "?product_id=A&kind=bought_together", hub.WriteKey);
        Assert.Equal(HttpStatusCode.OK, status);
        var data = Data(body);
        var learned = data.Where(d => d.Reason == "bought_together").ToList();
        // Delivered baskets: {A,B}, {A,B}, {A,E}. c(A)=3, c(B)=2, c(E)=1.
        Assert.Equal(["B", "E"], learned.Select(d => d.Product));
        Assert.Equal(2 / Math.Sqrt(3 * 2), learned[0].Score, 5);
        Assert.Equal(1 / Math.Sqrt(3 * 1), learned[1].Score, 5);
        // The cancelled (C) and refunded (D) orders taught nothing; they may only fill in as popular.
        Assert.All(data.Where(d => d.Product is "C" or "D"), d => Assert.Equal("popular", d.Reason));
        Assert.DoesNotContain(data, d => d.Product == "A");
        var first = body.GetProperty("data")[0];
        Assert.Equal("mx-100", first.GetProperty("store_id").GetString());
        Assert.True(first.TryGetProperty("product_name", out _));
    }

    [Fact]
    public async Task Only_the_products_own_store_is_recommended_unless_the_environment_says_marketplace()
    {
        await using (var hub = await StartAsync(Marketplace()))
        {
            var data = Data((await GetAsync(hub, "?product_id=A&kind=viewed_together&limit=50", hub.WriteKey)).Body);
            Assert.Equal(("C", "viewed_together"), (data[0].Product, data[0].Reason));
            Assert.DoesNotContain(data, d => d.Product is "X" or "K");
        }
        var marketplace = new EnvironmentConfig { Environment = "dev", Recommendations = new() { Scope = "marketplace" } };
        await using (var hub = await StartAsync(Marketplace(), o => o with { Config = marketplace }))
        {
            var data = Data((await GetAsync(hub, "?product_id=A&kind=viewed_together&limit=50", hub.WriteKey)).Body);
            // Sessions: {A,X}, {A,C}: both cosine 1/√2; ties by product id.
            Assert.Equal(["C", "X"], data.Where(d => d.Reason == "viewed_together").Select(d => d.Product));
            Assert.Equal(1 / Math.Sqrt(2), data[0].Score, 5);
            Assert.DoesNotContain(data, d => d.Product == "K");
        }
    }

    [Fact]
    public async Task An_out_of_stock_product_is_left_out_until_a_later_snapshot_restocks_it()
    {
        await using var hub = await StartAsync(Marketplace());
        var b = new EventBuilder("stock");
        b.Add("inventory_snapshot", Ago(5), null, properties: new JsonObject { ["store_id"] = "mx-100", ["product_id"] = "B", ["quantity_available"] = 0 }, place: Place.Backend);
        await PostAsync(hub, b.Events);
        var data = Data((await GetAsync(hub, "?product_id=A&limit=50", hub.WriteKey)).Body);
        Assert.DoesNotContain(data, d => d.Product == "B");
        Assert.Equal(("E", "bought_together"), (data[0].Product, data[0].Reason));

        // An older snapshot does not override the latest one; a newer one does.
        b.Add("inventory_snapshot", Ago(8), null, properties: new JsonObject { ["store_id"] = "mx-100", ["product_id"] = "B", ["quantity_available"] = 9 }, place: Place.Backend);
        await PostAsync(hub, b.Events.Skip(1));
        Assert.DoesNotContain(Data((await GetAsync(hub, "?product_id=A&limit=50", hub.WriteKey)).Body), d => d.Product == "B");
        b.Add("inventory_snapshot", Ago(1), null, properties: new JsonObject { ["store_id"] = "mx-100", ["product_id"] = "B", ["quantity_available"] = 3 }, place: Place.Backend);
        await PostAsync(hub, b.Events.Skip(2));
        Assert.Equal("B", Data((await GetAsync(hub, "?product_id=A&limit=50", hub.WriteKey)).Body)[0].Product);
    }

    [Fact]
    public async Task A_product_without_history_gets_popular_products_of_its_store_and_a_new_product_is_learned_as_its_events_commit()
    {
        await using var hub = await StartAsync(Marketplace());
        // G is known only from an inventory snapshot: the popular fallback. A leads mx-100 (2 views + 3 × 3 delivered orders).
        var data = Data((await GetAsync(hub, "?product_id=G", hub.WriteKey)).Body);
        Assert.NotEmpty(data);
        Assert.All(data, d => Assert.Equal("popular", d.Reason));
        Assert.Equal("A", data[0].Product);
        Assert.Equal(1.0, data[0].Score);
        Assert.DoesNotContain(data, d => d.Product is "G" or "X" or "K");

        // A new product bought with G: recommended as soon as the model has applied the delivery.
        var b = new EventBuilder("new");
        b.Order(Ago(0.5), "o-new", "mx-100", "u-9", items: [("G", 1, 20m), ("NEW", 1, 30m)]);
        b.Status(Ago(0.4), "o-new", "mx-100", "ENTREGADO");
        await PostAsync(hub, b.Events);
        data = Data((await GetAsync(hub, "?product_id=G&kind=bought_together", hub.WriteKey)).Body);
        Assert.Equal(("NEW", "bought_together"), (data[0].Product, data[0].Reason));
    }

    [Fact]
    public async Task For_you_follows_the_persons_recent_views_and_falls_back_to_popular_for_a_stranger()
    {
        await using var hub = await StartAsync(Marketplace());
        // anon-1 viewed A and X: their neighbours in mx-100 (A: bought B, E, viewed C; X: viewed A).
        var data = Data((await GetAsync(hub, "?product_id=F&anonymous_id=anon-1&kind=for_you&limit=50", hub.WriteKey)).Body);
        var learned = data.Where(d => d.Reason == "for_you").Select(d => d.Product).ToList();
        Assert.Equal(["A", "B", "C", "E"], learned.Order(StringComparer.Ordinal));
        var stranger = Data((await GetAsync(hub, "?product_id=F&user_id=nobody&kind=for_you", hub.WriteKey)).Body);
        Assert.All(stranger, d => Assert.Equal("popular", d.Reason));

        // Forgetting the person (erasure) removes them from for_you.
        Assert.True(hub.Hub.Recommendations.ForgetPerson(null, "anon-1"));
        var forgotten = Data((await GetAsync(hub, "?product_id=F&anonymous_id=anon-1&kind=for_you", hub.WriteKey)).Body);
        Assert.All(forgotten, d => Assert.Equal("popular", d.Reason));
    }

    [Fact]
    public async Task An_erasure_through_the_privacy_api_removes_the_person_from_for_you_also_after_a_restart()
    {
        await using var hub = await StartAsync(Marketplace());
        const string Query = "?product_id=F&anonymous_id=anon-1&kind=for_you&limit=50";
        Assert.Contains(Data((await GetAsync(hub, Query, hub.WriteKey)).Body), d => d.Reason == "for_you");

        var (status, body) = await Privacy.ErasureTests.EraseAsync(hub, hub.CreateToken(Role.Admin), """{"anonymous_id": "anon-1"}""");
        Assert.True(status == HttpStatusCode.OK, body.GetRawText());
        Assert.All(Data((await GetAsync(hub, Query, hub.WriteKey)).Body), d => Assert.Equal("popular", d.Reason));

        // After a restart the model learns again from the stored events, which now hold a pseudonym.
        await hub.RestartAsync();
        await hub.Hub.Recommendations.Loaded.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(Data((await GetAsync(hub, Query, hub.WriteKey)).Body), d => Assert.Equal("popular", d.Reason));
    }

    [Fact]
    public async Task Tokens_need_a_scope_over_the_products_store_and_write_keys_of_any_source_may_ask()
    {
        await using var hub = await StartAsync(Marketplace());
        var otherSource = hub.CreateToken(Role.Write, source: "storefront-b");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(hub, "?product_id=A", otherSource)).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(hub, "?product_id=A", hub.CreateToken(Role.Analyst))).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(hub, "?product_id=A", hub.CreateToken(Role.Vendor, stores: ["mx-100"]))).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(hub, "?product_id=A", hub.CreateToken(Role.CountryOpsLead, countries: ["MX"]))).Status);

        var (status, body) = await GetAsync(hub, "?product_id=A", hub.CreateToken(Role.Vendor, stores: ["mx-200"]));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("mx-100", body.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(hub, "?product_id=A", hub.CreateToken(Role.CountryOpsLead, countries: ["CO"]))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(hub, "?product_id=A", null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(hub, "?product_id=A", "atl_write_unknownunknownunknown")).Status);
    }

    [Fact]
    public async Task Vendors_see_their_bought_together_pairs_with_lift_and_no_other_stores()
    {
        await using var hub = await StartAsync(Marketplace());
        async Task<(HttpStatusCode Status, JsonElement Body)> PairsAsync(string query, string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/analysis/bought-together" + query);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await hub.Client.SendAsync(request);
            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
        }
        var (status, body) = await PairsAsync("", hub.CreateToken(Role.Vendor, stores: ["mx-100"]));
        Assert.Equal(HttpStatusCode.OK, status);
        // Only A+B was delivered twice (A+E once is below the two-order floor). Lift = c(A,B)·N / (c(A)·c(B)) = 2·3 / (3·2).
        var pair = Assert.Single(body.GetProperty("data").EnumerateArray());
        Assert.Equal(("mx-100", "A", "B"), (pair.GetProperty("store_id").GetString(), pair.GetProperty("product_id").GetString(), pair.GetProperty("other_product_id").GetString()));
        Assert.Equal(2, pair.GetProperty("orders").GetDouble());
        Assert.Equal(1.0, pair.GetProperty("lift").GetDouble(), 3);

        Assert.Equal(HttpStatusCode.Forbidden, (await PairsAsync("?store_id=mx-100", hub.CreateToken(Role.Vendor, stores: ["mx-200"]))).Status);
        Assert.Empty((await PairsAsync("", hub.CreateToken(Role.Vendor, stores: ["mx-200"]))).Body.GetProperty("data").EnumerateArray());
        Assert.Empty((await PairsAsync("", hub.CreateToken(Role.CountryOpsLead, countries: ["CO"]))).Body.GetProperty("data").EnumerateArray());
        Assert.Single((await PairsAsync("?store_id=mx-100", hub.CreateToken(Role.Admin))).Body.GetProperty("data").EnumerateArray());
        Assert.Equal(HttpStatusCode.Forbidden, (await PairsAsync("", hub.WriteKey)).Status);
    }

    [Theory]
    [InlineData("?product_id=nope", HttpStatusCode.NotFound, "product_id 'nope'")]
    [InlineData("", HttpStatusCode.BadRequest, "product_id")]
    [InlineData("?product_id=A&limit=0", HttpStatusCode.BadRequest, "limit")]
    [InlineData("?product_id=A&limit=ten", HttpStatusCode.BadRequest, "limit")]
    [InlineData("?product_id=A&kind=similar", HttpStatusCode.BadRequest, "kind")]
    [InlineData("?product_id=A&kind=for_you", HttpStatusCode.BadRequest, "user_id")]
    [InlineData("?product_id=A&user_id=u&anonymous_id=a", HttpStatusCode.BadRequest, "not both")]
    [InlineData("?product_id=A&product_id=B", HttpStatusCode.BadRequest, "product_id")]
    [InlineData("?product_id=A&store=mx-100", HttpStatusCode.BadRequest, "'store'")]
    public async Task Bad_requests_get_a_4xx_naming_the_problem(string query, HttpStatusCode expected, string named)
    {
        await using var hub = await StartAsync(Marketplace());
        var (status, body) = await GetAsync(hub, query, hub.WriteKey);
        Assert.Equal(expected, status);
        Assert.Contains(named, body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_call_is_audited_with_its_status_and_rows()
    {
        await using var hub = await StartAsync(Marketplace());
        await GetAsync(hub, "?product_id=A&limit=2", hub.WriteKey);
        await GetAsync(hub, "?product_id=nope", hub.WriteKey);
        using var connection = hub.Hub.Database.Connect();
        var entries = Engine.Audit.AuditLog.Query(connection, null, "GET /api/recommendations", null, null, 10);
        Assert.Contains(entries, e => e.Entry.Status == 200 && e.Entry.Rows == 2 && e.Entry.Role == "write");
        Assert.Contains(entries, e => e.Entry.Status == 404 && e.Entry.Rows == 0);
    }

    [Fact]
    public async Task After_a_restart_the_model_is_rebuilt_from_the_stored_events_with_the_same_answers()
    {
        await using var hub = await StartAsync(Marketplace());
        var before = (await GetAsync(hub, "?product_id=A&limit=50", hub.WriteKey)).Body.GetRawText();
        await hub.RestartAsync();
        await hub.Hub.Recommendations.Loaded.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(hub.Hub.Recommendations.EventsApplied > 0);
        Assert.Equal(before, (await GetAsync(hub, "?product_id=A&limit=50", hub.WriteKey)).Body.GetRawText());
    }
}
