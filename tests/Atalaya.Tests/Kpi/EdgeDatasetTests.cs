using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// The edge dataset holds what it claims to hold (so the conformance matrix really meets those
/// cases), and the reference reads those cases as the dictionary's rules say.
/// </summary>
[Collection(KpiCollection.Name)]
public sealed class EdgeDatasetTests(KpiDatasets datasets)
{
    private KpiHub Edge => datasets["edge"].Hub;

    [Fact]
    public void A_resent_event_id_is_stored_once_as_first_sent()
    {
        var stored = StoredEvents.All(Edge.Server.DataDirectory);

        Assert.Equal(stored.Count, stored.Select(e => e.GetProperty("event_id").GetString()).Distinct(StringComparer.Ordinal).Count());
        var ord3 = Assert.Single(Edge.Reference.Orders, o => o.Text("order_id") == "ord-3");
        Assert.NotEqual(999m, ord3.Number("total"));
    }

    [Fact]
    public void The_earliest_purchase_of_an_order_is_the_order_even_when_stored_later()
    {
        var order = Assert.Single(Edge.Reference.Orders, o => o.Text("order_id") == "ord-dup");

        Assert.Equal(300m, order.Number("total"));
        Assert.Equal(3, Edge.Reference.Events.Count(e => e.Type == "purchase_completed" && e.Text("order_id") == "ord-dup"));
    }

    [Fact]
    public void Amounts_without_a_rate_are_stored_flagged_fx_rate_missing()
    {
        var flagged = StoredEvents.All(Edge.Server.DataDirectory)
            .Where(e => e.TryGetProperty("flags", out var flags) && flags.EnumerateArray().Any(f => f.GetString() == "fx_rate_missing"))
            .Select(e => e.GetProperty("event_type").GetString())
            .Order(StringComparer.Ordinal);

        Assert.Equal(["payment_succeeded", "purchase_completed", "subscription_charged"], flagged);
        Assert.Null(Assert.Single(Edge.Reference.Orders, o => o.Text("order_id") == "ord-eur").Fx);
    }

    [Fact]
    public void A_store_created_after_its_events_still_gives_them_its_dimensions()
    {
        var late = Edge.Reference.Events.Where(e => e.Dimensions.StoreId == "st-late").ToList();

        Assert.Equal(4, late.Count);
        Assert.All(late, e => Assert.Equal(("CL", "santiago-centro"), (e.Dimensions.Country, e.Dimensions.Hub)));
        Assert.All(Edge.Reference.Events.Where(e => e.Dimensions.StoreId == "st-mx"), e => Assert.Equal("cdmx-sur", e.Dimensions.Hub));
        Assert.All(Edge.Reference.Events.Where(e => e.Dimensions.StoreId == "st-se"), e => Assert.Equal("stockholm-south", e.Dimensions.Hub));
    }

    [Fact]
    public void Custom_events_are_kept_for_funnels_and_left_out_of_kpis()
    {
        Assert.Contains(Edge.Reference.AllEvents, e => e.Type == "gift_card_redeemed" && e.IsCustom);
        Assert.DoesNotContain(Edge.Reference.Events, e => e.IsCustom);
        Assert.Equal(1, Assert.Single(Edge.Reference.Sessions, s => s.Id == "s-nouser").EventCount);
    }

    [Fact]
    public void Events_without_any_user_count_in_sessions_but_not_as_visitors()
    {
        var rows = KpiReference.Query(Edge.Reference, new KpiQuery(new DateOnly(2026, 3, 27), new DateOnly(2026, 3, 27)) { Metrics = ["visitors", "sessions"] });

        // 03-27 users: u2 (s-bounce, ord-2), u1 and u5 (leads, u5's ord-dup), a-9 (ord-3), u8 (st-late), u17 (ord-17a); s-nouser has none.
        // 03-27 sessions: s-bounce2 (ord-2), s-bounce, s-nouser, s-late.
        Assert.Equal(6, rows.Single(r => r.Metric == "visitors").Value);
        Assert.Equal(4, rows.Single(r => r.Metric == "sessions").Value);
    }
}
