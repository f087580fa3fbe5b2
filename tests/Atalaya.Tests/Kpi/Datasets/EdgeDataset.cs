using System.Text.Json.Nodes;

namespace Atalaya.Tests.Kpi.Datasets;

/// <summary>
/// Explicit events for the cases generated data rarely or never has, posted in the order of
/// <see cref="Batches"/> (later batches arrive later):
/// <list type="bullet">
/// <item>empty periods: nothing on 03-28 UTC nor on the range's first and last days;</item>
/// <item>DST: a session across Stockholm's skipped hour (2026-03-29 01:00Z) and events in its
///   repeated hour (2026-10-25 00:30Z and 01:30Z, both 02:30 local); events at both Santiago changes
///   (2026-04-05 03:00Z back, 2026-09-06 04:00Z forward over midnight); events on local and UTC midnights;</item>
/// <item>duplicates: an event resent with the same event_id (once unchanged, once with another total:
///   stored once, as first sent); ord-dup sent three times with different event_ids, the second
///   earlier than the first (the earliest wins);</item>
/// <item>ord-split: its ignored second purchase_completed names another store and country;</item>
/// <item>users: anonymous-only events and an anonymous-only order, events and an order with no user at all;</item>
/// <item>money: a zero-amount order, refunds, a second ENTREGADO of an order (ignored), EUR amounts
///   with no rate (fx_rate_missing: counted, not summed; a final snapshot must carry its rate), a subscription earlier in the month (mrr);</item>
/// <item>stores: st-late's events arrive (with context country CO) before its store_created (CL),
///   st-mx is re-created with another hub after events named it, and st-se is re-created last
///   with an earlier timestamp (the latest stored wins);</item>
/// <item>history: u1 ordered before the range (returning), u6's lead converts with a payment after the range,
///   leads paid exactly 7 days later, 7 days and 1 s later, before the lead, or in another country;
///   u17's first order is in CO and its first MX order later.</item>
/// </list>
/// </summary>
public static class EdgeDataset
{
    public static List<List<JsonObject>> Batches()
    {
        var b = new EventBuilder("edge");
        var batches = new List<List<JsonObject>>();
        void Batch(Action build)
        {
            var before = b.Events.Count;
            build();
            batches.Add([.. b.Events.Skip(before)]);
        }

        Batch(() =>
        {
            b.StoreCreated("2026-03-01T00:00:00Z", "st-mx", "MX", "cdmx-norte", "z1", "food");
            b.StoreCreated("2026-03-01T00:00:00Z", "st-co", "CO", "bogota-centro", "z2", "pharmacy");
            b.StoreCreated("2026-03-01T00:00:00Z", "st-se", "SE", "stockholm-city", "z1", "food");
            b.Order("2026-03-10T12:00:00Z", "ord-early", "st-mx", "u1");
            b.Subscription("2026-03-05T08:00:00Z", "st-mx", 1000);
            b.Lead("2026-03-20T10:00:00Z", "u2", Place.Colombia);
        });

        var resent = new List<JsonObject>();
        Batch(() =>
        {
            // 03-27: a bounce, a session without a user, leads, a delivered order delivered twice.
            b.PageView("2026-03-27T10:00:00Z", "u2", "s-bounce", Place.Colombia);
            resent.Add(b.PageView("2026-03-27T11:00:00Z", null, "s-nouser"));
            b.Add("gift_card_redeemed", "2026-03-27T11:05:00Z", null, "s-nouser", properties: new JsonObject { ["coupon_code"] = "X" });
            b.Lead("2026-03-27T09:00:00Z", "u1");
            b.Lead("2026-03-27T09:30:00Z", "u5");
            b.Lead("2026-03-28T09:30:00Z", null);
            b.Order("2026-03-27T08:00:00Z", "ord-2", "st-co", "u2", "s-bounce2", place: Place.Colombia, currency: "COP", fx: 0.00025m, total: 40000, items: [("p-co", 4, 9000m)]);
            b.Status("2026-03-27T15:00:00Z", "ord-2", "st-co", "ENTREGADO", total: 40000, commission: 4000, currency: "COP", fx: 0.00025m);
            b.Status("2026-03-31T15:00:00Z", "ord-2", "st-co", "ENTREGADO", total: 40000, commission: 4000, currency: "COP", fx: 0.00025m);
            b.Order("2026-03-27T12:00:00Z", "ord-dup", "st-mx", "u5", total: 200);
            b.Subscription("2026-03-27T08:00:00Z", "st-co", 500, fx: null, currency: "EUR");
            resent.Add(b.Order("2026-03-27T13:00:00Z", "ord-3", "st-co", null, place: Place.Colombia, anonymous: "a-9"));
            // st-late's events, sent with context country CO before the store is known.
            b.StoreVisit("2026-03-27T14:00:00Z", "u8", "s-late", "st-late", Place.Colombia);
            b.ProductView("2026-03-27T14:01:00Z", "u8", "s-late", "st-late", "p-late", "Empanada", Place.Colombia);
            b.Order("2026-03-27T14:05:00Z", "ord-late", "st-late", "u8", "s-late", place: Place.Colombia, items: [("p-late", 3, 20m)]);
        });

        Batch(() =>
        {
            // ord-dup again, earlier than the first one sent: it is the order. And a third, later: ignored.
            b.Order("2026-03-27T11:00:00Z", "ord-dup", "st-mx", "u5", total: 300);
            b.Order("2026-03-30T10:00:00Z", "ord-dup", "st-mx", "u5", total: 999);
            // 03-28 UTC is empty but for a payment failure and a sign-up (the UTC day 03-28 has these only).
            b.Payment("2026-03-28T08:00:00Z", succeeded: false, 50, "u3");
            b.SignUp("2026-03-28T09:00:00Z", "u3");
            b.Payment("2026-03-28T10:00:00Z", succeeded: true, 80, "u2", place: Place.Colombia);
            // Around Stockholm's spring change (01:00Z on 03-29): a session from 01:30+01 to 03:45+02.
            b.PageView("2026-03-28T23:30:00Z", null, "s-anon", anonymous: "a-1");
            b.ProductView("2026-03-29T00:20:00Z", null, "s-anon", "st-mx", "p-1", anonymous: "a-1");
            b.PageView("2026-03-29T00:30:00Z", "u1", "s-dst");
            b.ProductView("2026-03-29T01:20:00Z", "u1", "s-dst", "st-mx", "p-1");
            b.AddToCart("2026-03-29T01:25:00Z", "u1", "s-dst", "st-mx");
            b.CheckoutStarted("2026-03-29T01:40:00Z", "u1", "s-dst", "st-mx");
            b.Order("2026-03-29T01:45:00Z", "ord-1", "st-mx", "u1", "s-dst");
            b.Payment("2026-03-29T01:46:00Z", succeeded: true, 110, "u1");
            b.AddToCart("2026-03-29T21:59:59Z", "u3", "s-cart", "st-mx", place: Place.Sweden);
            b.PageView("2026-03-29T22:00:00Z", "u3", "s-cart", Place.Sweden);
            b.Order("2026-03-29T23:59:59Z", "ord-nobody", "st-mx", null);
        });

        Batch(() =>
        {
            // 03-30: midnight events, zero-amount, no-rate and anonymous orders, a refund, a late sign-up.
            b.PageView("2026-03-30T00:00:00Z", "u4", "s-mid", Place.Sweden);
            b.Order("2026-03-30T08:00:00Z", "ord-zero", "st-mx", "u3", total: 0, items: [("p-free", 1, 0m)]);
            b.Order("2026-03-30T09:00:00Z", "ord-eur", "st-se", "u4", "s-mid", currency: "EUR", fx: null, place: Place.Sweden, items: [("p-se", 2, 30m)]);
            b.Payment("2026-03-30T09:01:00Z", succeeded: true, 70, "u4", currency: "EUR", fx: null, place: Place.Sweden);
            b.Status("2026-03-30T09:30:00Z", "ord-1", "st-mx", "REEMBOLSADO", total: 110, commission: 0);
            b.Order("2026-03-30T11:00:00Z", "ord-anon", "st-co", null, "s-anon2", place: Place.Colombia, anonymous: "a-2");
            b.SignUp("2026-03-30T12:00:00Z", "u4", place: Place.Sweden);
            b.Lead("2026-03-30T13:00:00Z", "u6", Place.Colombia);
            b.Status("2026-03-31T10:00:00Z", "ord-eur", "st-se", "ENTREGADO", total: 70, commission: 7, currency: "EUR", fx: 1.1m);
            b.Payment("2026-04-06T10:00:00Z", succeeded: true, 90, "u6", place: Place.Colombia);
            b.Status("2026-03-31T11:00:00Z", "ord-zero", "st-mx", "ENTREGADO", total: 0, commission: 0);
            // ord-split is placed at st-mx; a later purchase_completed of it names st-co: ignored, also under a CO filter.
            b.Order("2026-03-30T14:00:00Z", "ord-split", "st-mx", "u12", total: 150, items: [("p-1", 2, 70m)]);
            b.Order("2026-03-30T15:00:00Z", "ord-split", "st-co", "u12", total: 150, items: [("p-1", 2, 70m)], place: Place.Colombia);
            // Lead conversion edges: a payment exactly 7 days later converts, one second later does not,
            // one before the lead does not, and one outside the filters does not under those filters.
            b.Lead("2026-03-29T10:00:00Z", "u13");
            b.Payment("2026-04-05T10:00:00Z", succeeded: true, 10, "u13", place: Place.Mexico);
            b.Lead("2026-03-29T11:00:00Z", "u14");
            b.Payment("2026-04-05T11:00:01Z", succeeded: true, 10, "u14", place: Place.Mexico);
            b.Payment("2026-03-29T11:59:00Z", succeeded: true, 10, "u15", place: Place.Mexico);
            b.Lead("2026-03-29T12:00:00Z", "u15");
            b.Lead("2026-03-29T13:00:00Z", "u16");
            b.Payment("2026-03-30T13:00:00Z", succeeded: true, 10, "u16", place: Place.Colombia);
            // u17's first order is in CO, its first MX order later: a new customer of MX on 03-30.
            b.Order("2026-03-27T16:00:00Z", "ord-17a", "st-co", "u17", place: Place.Colombia);
            b.Order("2026-03-30T16:00:00Z", "ord-17b", "st-mx", "u17");
        });

        Batch(() =>
        {
            // Stockholm's repeated hour: 00:30Z and 01:30Z are both 02:30 local on 10-25.
            b.PageView("2026-10-24T22:30:00Z", "u7", "s-oct", Place.Sweden);
            b.ProductView("2026-10-25T00:30:00Z", "u7", "s-oct", "st-se", "p-se", "Köttbullar", Place.Sweden);
            b.Order("2026-10-25T01:30:00Z", "ord-oct", "st-se", "u7", "s-oct", currency: "SEK", fx: 0.095m, place: Place.Sweden, items: [("p-se", 1, 120m)]);
            b.PageView("2026-10-25T01:45:00Z", "u9", "s-oct2", Place.Sweden);
            b.Subscription("2026-10-01T00:00:00Z", "st-se", 300, fx: 0.095m, currency: "SEK");
            // Santiago falls back at 2026-04-05 03:00Z (00:00−03 → 23:00−04): 02:30Z and 03:30Z are both 23:30 on 04-04.
            b.PageView("2026-04-05T02:30:00Z", "u10", "s-cl1", Place.Chile);
            b.Order("2026-04-05T03:30:00Z", "ord-cl1", "st-co", "u10", "s-cl1", place: Place.Chile);
            b.PageView("2026-04-05T04:30:00Z", "u11", "s-cl2", Place.Chile);
            // Santiago springs forward at 2026-09-06 04:00Z (24:00−04 → 01:00−03): 09-06 starts at 04:00Z.
            b.PageView("2026-09-06T03:30:00Z", "u10", "s-cl3", Place.Chile);
            b.Order("2026-09-06T04:30:00Z", "ord-cl2", "st-co", "u10", "s-cl3", place: Place.Chile);
        });

        Batch(() =>
        {
            // Arrives last: st-late becomes a Chilean store, st-mx moves hub; resends of stored event ids.
            b.StoreCreated("2026-03-30T12:00:00Z", "st-late", "CL", "santiago-centro", "z3", "market");
            b.StoreCreated("2026-03-20T00:00:00Z", "st-mx", "MX", "cdmx-sur", "z5", "food");
            // Stored last but dated earliest: still the latest stored store_created of st-se.
            b.StoreCreated("2026-02-01T00:00:00Z", "st-se", "SE", "stockholm-south", "z9", "food");
            b.Resend(resent[0]);
            b.Resend(resent[1], e => e["properties"]!["total"] = 999);
        });
        return batches;
    }
}
