using System.Text;
using Atalaya.Engine.Access;
using Atalaya.Engine.Recommendations;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Kpi.Datasets;

namespace Atalaya.Tests.Recommendations;

/// <summary>The model's rules on events in hand: time decay, bounded neighbours, the latest final status, forgetting a person.</summary>
public sealed class RecommendationModelTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static string Ago(double days) => EventBuilder.At(Now.AddDays(-days));

    private static RecommendationModel Build(EventBuilder b) =>
        RecommendationModel.FromEvents(b.Events.Select(e => Encoding.UTF8.GetBytes(e.ToJsonString())));

    private static List<Recommendation> Ask(RecommendationModel model, RecommendationRequest request) =>
        [.. model.Recommend(request, AccessScope.Everything, new StoreDirectory(), Now)];

    [Fact]
    public void For_you_weighs_a_recent_view_above_an_older_one()
    {
        var b = new EventBuilder();
        // P1 is viewed with N1 in two sessions, P2 with N2 in one: N1 is the stronger neighbour.
        foreach (var (session, a, n) in new[] { ("s1", "P1", "N1"), ("s2", "P1", "N1"), ("s3", "P2", "N2") })
        {
            b.ProductView(Ago(30), null, session, "st", a);
            b.ProductView(Ago(30), null, session, "st", n);
        }
        b.ProductView(Ago(20), "u-1", "s4", "st", "P1");
        b.ProductView(Ago(0.1), "u-1", "s5", "st", "P2");
        b.ProductView(Ago(0.1), "u-2", "s6", "st", "Q");
        var model = Build(b);
        var data = Ask(model, new RecommendationRequest("Q", RecommendationKind.ForYou, UserId: "u-1"));
        var ranked = data.Where(d => d.Reason == "for_you").Select(d => d.ProductId).ToList();
        // Today's view of P2 (weight ≈ 1) outweighs the view of P1 twenty days ago (weight 0.5^(20/7) ≈ 0.14).
        Assert.True(ranked.IndexOf("N2") < ranked.IndexOf("N1"), string.Join(", ", ranked));
        Assert.True(ranked.IndexOf("P2") < ranked.IndexOf("P1"), string.Join(", ", ranked));

        Assert.True(model.ForgetPerson("u-1", null));
        Assert.All(Ask(model, new RecommendationRequest("Q", RecommendationKind.ForYou, UserId: "u-1")), d => Assert.Equal("popular", d.Reason));
        Assert.False(model.ForgetPerson("u-1", null));
    }

    [Fact]
    public void A_product_is_shown_with_the_name_of_its_latest_view_that_names_it()
    {
        var b = new EventBuilder();
        b.ProductView(Ago(3), null, "s1", "st", "P", name: "Tacos al pastor");
        b.ProductView(Ago(2), null, "s1", "st", "Q", name: "Agua fresca");
        var renamed = Build(b);
        Assert.Equal("Tacos al pastor", Named(renamed, "P"));

        b.ProductView(Ago(1), null, "s2", "st", "P", name: "Tacos de canasta");
        b.ProductView(Ago(1), null, "s2", "st", "Q", name: "Agua fresca");
        Assert.Equal("Tacos de canasta", Named(Build(b), "P"));
    }

    private static string? Named(RecommendationModel model, string product) =>
        Ask(model, new RecommendationRequest("Q", RecommendationKind.ViewedTogether)).Single(d => d.ProductId == product).ProductName;

    [Fact]
    public void Neighbours_stay_bounded_per_product_and_a_frequent_pair_survives_many_rare_ones()
    {
        var b = new EventBuilder();
        var sessions = 0;
        for (var i = 0; i < 20; i++)
        {
            b.ProductView(Ago(1), null, $"s{++sessions}", "st", "HUB");
            b.ProductView(Ago(1), null, $"s{sessions}", "st", "FRIEND");
        }
        for (var i = 0; i < 5 * RecommendationModel.NeighboursPerProduct; i++)
        {
            b.ProductView(Ago(1), null, $"s{++sessions}", "st", "HUB");
            b.ProductView(Ago(1), null, $"s{sessions}", "st", $"RARE-{i}");
        }
        var model = Build(b);
        var data = Ask(model, new RecommendationRequest("HUB", RecommendationKind.ViewedTogether, Limit: 100));
        var learned = data.Where(d => d.Reason == "viewed_together").ToList();
        Assert.Equal("FRIEND", learned[0].ProductId);
        Assert.True(learned.Count <= RecommendationModel.NeighboursPerProduct, $"{learned.Count} neighbours kept");
        // FRIEND: 20 of HUB's 340 sessions, in all 20 of its own: cosine 20/√(340·20).
        Assert.Equal(20 / Math.Sqrt(340 * 20), learned[0].Score, 5);
    }

    [Fact]
    public void The_latest_final_status_decides_whether_an_order_counts_whatever_the_arrival_order()
    {
        var b = new EventBuilder();
        b.Order(Ago(5), "o-1", "st", "u", items: [("A", 1, 10m), ("B", 1, 10m)]);
        // The refund (later) arrives before the delivery (earlier): the order does not count.
        b.Status(Ago(3), "o-1", "st", "REEMBOLSADO");
        b.Status(Ago(4), "o-1", "st", "ENTREGADO");
        b.Order(Ago(5), "o-2", "st", "u", items: [("A", 1, 10m), ("C", 1, 10m)]);
        b.Status(Ago(4), "o-2", "st", "ENTREGADO");
        var data = Ask(Build(b), new RecommendationRequest("A", RecommendationKind.BoughtTogether));
        Assert.Equal(["C"], data.Where(d => d.Reason == "bought_together").Select(d => d.ProductId));
    }

    [Fact]
    public void Unknown_products_and_products_outside_the_scope_are_refused()
    {
        var b = new EventBuilder();
        b.ProductView(Ago(1), null, "s", "st-1", "A");
        var model = Build(b);
        Assert.Throws<UnknownProductException>(() => Ask(model, new RecommendationRequest("nope")));
        var vendor = new AccessScope([], [], [], ["st-2"]);
        Assert.Throws<Engine.Kpi.Query.ScopeViolationException>(() => model.Recommend(new RecommendationRequest("A"), vendor, new StoreDirectory(), Now));
        Assert.Empty(model.Recommend(new RecommendationRequest("A"), new AccessScope([], [], [], ["st-1"]), new StoreDirectory(), Now));
    }

    [Fact]
    public void A_people_table_that_pruning_left_less_than_half_full_gives_its_slots_back()
    {
        // 40,000 people seen 70 days ago (past the 60-day horizon), then 30,000 seen now: the prune
        // after 65,536 events drops the old ones and leaves about 35 % of the table in use.
        var b = new EventBuilder();
        for (var i = 0; i < 40_000; i++)
        {
            b.ProductView(Ago(70), $"old-{i}", $"s-old-{i}", "st", "P1");
        }
        for (var i = 0; i < 30_000; i++)
        {
            b.ProductView(Ago(0), $"new-{i}", $"s-new-{i}", "st", "P2");
        }
        var model = Build(b);
        Assert.Equal(30_000, model.Size().People);
        // Left at its peak the table would hold at least 65,536 slots.
        Assert.InRange(model.PeopleCapacity, 30_000, 2 * 30_000);
    }
}
