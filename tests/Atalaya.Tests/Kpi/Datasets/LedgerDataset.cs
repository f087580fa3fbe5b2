using System.Text.Json.Nodes;

namespace Atalaya.Tests.Kpi.Datasets;

/// <summary>
/// The order lifecycle cases of the money ledger, March and April 2026, posted in the order of
/// <see cref="Batches"/> (later batches arrive later). Stores st-mx (MX, MXN at 0.05) and st-co (CO, COP at 0.00025).
/// <list type="bullet">
/// <item>ord-march: delivered 03-12 (200, commission 20), half refunded 04-15 (100, reversing 10): March keeps its delivery, April shows the refund;</item>
/// <item>ord-partials: delivered 03-21 (300, commission 30), refunded 100 on 03-25, 50 reversing exactly 4 on 04-02, then 500 on 04-03 (capped at the 150 left);</item>
/// <item>ord-after: delivered 03-23, CANCELADO 03-24 (after the delivery: counts nothing);</item>
/// <item>ord-cancel: CANCELADO 03-26 and again 03-27 under another event id (one cancellation);</item>
/// <item>ord-refund-first: REEMBOLSADO 03-29 00:30Z before any delivery (its cancellation, in Stockholm's last hour before the change),
///   delivered 03-30, wholly refunded 04-01 without refunded_amount;</item>
/// <item>ord-late: its refund (04-05 02:30Z, Santiago's repeated hour) arrives before its delivery (04-04); a resend of the refund's
///   event id is stored once, a second ENTREGADO is ignored;</item>
/// <item>ord-undo: CANCELADO 04-06 arrives first, then its earlier delivery 04-05: the cancellation stops counting;</item>
/// <item>ord-ghost: delivered and partly refunded without any purchase_completed (an unknown order: counted);</item>
/// <item>ord-co: a Colombian order delivered 03-31 23:30Z and refunded 04-01 00:30Z (a month end in UTC, not in Santiago);</item>
/// <item>checkouts on 03-15: s-c1 checks out then buys, s-c2 buys then checks out, s-c3 buys without a checkout
///   (checkout completion 1 of 2 sessions; counting any purchase would make it 3 of 2);</item>
/// <item>ord-plain: delivered and nothing else, the one placed order whose latest final status is ENTREGADO (orders=delivered);</item>
/// <item>stock: p-1 at st-mx 50 on 03-01, 40 on 03-20, 30 and (stored later, same instant) 35 on 04-10; p-2 at st-mx 20 on 03-05;
///   p-co at st-co 100 on 03-31 23:00Z (April in UTC, March in Santiago), and a late snapshot of p-2 (5 on 03-25) arriving last;</item>
/// <item>leads by priority: u6 (high) pays within 7 days, u7 (low) does not, u9 (low) pays;</item>
/// <item>customers: u1 and u3 order in March and April, u2 and u5–u8 only in March, u4 only in April (churn, repeat customers).</item>
/// </list>
/// </summary>
public static class LedgerDataset
{
    public static List<List<JsonObject>> Batches()
    {
        var b = new EventBuilder("ledger");
        var batches = new List<List<JsonObject>>();
        void Batch(Action build)
        {
            var before = b.Events.Count;
            build();
            batches.Add([.. b.Events.Skip(before)]);
        }

        JsonObject lateRefund = null!;
        Batch(() =>
        {
            b.StoreCreated("2026-03-01T00:00:00Z", "st-mx", "MX", "cdmx-norte", "z1", "food");
            b.StoreCreated("2026-03-01T00:00:00Z", "st-co", "CO", "bogota-centro", "z2", "pharmacy");

            b.Order("2026-03-10T10:00:00Z", "ord-march", "st-mx", "u1", "s1", total: 200, items: [("p-1", 2, 95m)]);
            b.Status("2026-03-12T10:00:00Z", "ord-march", "st-mx", "ENTREGADO", total: 200, commission: 20);
            b.Status("2026-04-15T10:00:00Z", "ord-march", "st-mx", "REEMBOLSADO", total: 200, commission: 20, refunded: 100);

            b.Order("2026-03-20T10:00:00Z", "ord-partials", "st-mx", "u2", "s2", total: 300, items: [("p-2", 3, 95m)]);
            b.Status("2026-03-21T10:00:00Z", "ord-partials", "st-mx", "ENTREGADO", total: 300, commission: 30);
            b.Status("2026-03-25T10:00:00Z", "ord-partials", "st-mx", "REEMBOLSADO", total: 300, commission: 30, refunded: 100);
            b.Status("2026-04-02T10:00:00Z", "ord-partials", "st-mx", "REEMBOLSADO", total: 300, commission: 30, refunded: 50, commissionReversed: 4);
            b.Status("2026-04-03T10:00:00Z", "ord-partials", "st-mx", "REEMBOLSADO", total: 300, commission: 30, refunded: 500);

            b.Order("2026-03-22T10:00:00Z", "ord-after", "st-mx", "u1", "s3");
            b.Status("2026-03-23T10:00:00Z", "ord-after", "st-mx", "ENTREGADO");
            b.Status("2026-03-24T10:00:00Z", "ord-after", "st-mx", "CANCELADO");

            b.Order("2026-03-26T09:00:00Z", "ord-cancel", "st-co", "u3", "s4", total: 40000, currency: "COP", fx: 0.00025m, place: Place.Colombia,
                items: [("p-co", 4, 9000m)]);
            b.Status("2026-03-26T12:00:00Z", "ord-cancel", "st-co", "CANCELADO", total: 40000, commission: 4000, currency: "COP", fx: 0.00025m);
            b.Status("2026-03-27T12:00:00Z", "ord-cancel", "st-co", "CANCELADO", total: 40000, commission: 4000, currency: "COP", fx: 0.00025m);

            b.Order("2026-03-28T20:00:00Z", "ord-refund-first", "st-mx", "u2", "s5");
            b.Status("2026-03-29T00:30:00Z", "ord-refund-first", "st-mx", "REEMBOLSADO");
            b.Status("2026-03-30T10:00:00Z", "ord-refund-first", "st-mx", "ENTREGADO");
            b.Status("2026-04-01T10:00:00Z", "ord-refund-first", "st-mx", "REEMBOLSADO");

            b.Order("2026-04-03T09:00:00Z", "ord-late", "st-mx", "u4", "s6", total: 120, items: [("p-1", 1, 110m)]);
            lateRefund = b.Status("2026-04-05T02:30:00Z", "ord-late", "st-mx", "REEMBOLSADO", total: 120, commission: 12, refunded: 60);

            b.Order("2026-04-04T09:00:00Z", "ord-undo", "st-mx", "u3", "s7");
            b.Status("2026-04-06T10:00:00Z", "ord-undo", "st-mx", "CANCELADO");

            b.CheckoutStarted("2026-03-15T09:00:00Z", "u6", "s-c1", "st-mx");
            b.Order("2026-03-15T09:05:00Z", "ord-c1", "st-mx", "u6", "s-c1");
            b.Order("2026-03-15T10:00:00Z", "ord-c2", "st-mx", "u7", "s-c2");
            b.CheckoutStarted("2026-03-15T10:05:00Z", "u7", "s-c2", "st-mx");
            b.Order("2026-03-15T11:00:00Z", "ord-c3", "st-mx", "u8", "s-c3");
            b.Order("2026-04-20T11:00:00Z", "ord-u1-april", "st-mx", "u1", "s9");
            b.Order("2026-03-18T10:00:00Z", "ord-plain", "st-mx", "u5", "s10", total: 60, items: [("p-2", 1, 50m)]);
            b.Status("2026-03-19T10:00:00Z", "ord-plain", "st-mx", "ENTREGADO", total: 60, commission: 6);
            b.Inventory("2026-03-01T06:00:00Z", "st-mx", "p-1", 50);
            b.Inventory("2026-03-05T06:00:00Z", "st-mx", "p-2", 20);
            b.Inventory("2026-03-20T06:00:00Z", "st-mx", "p-1", 40);
            b.Inventory("2026-04-10T06:00:00Z", "st-mx", "p-1", 30);
            b.Inventory("2026-04-10T06:00:00Z", "st-mx", "p-1", 35);
            b.Inventory("2026-03-31T23:00:00Z", "st-co", "p-co", 100, Place.Colombia);
            b.Lead("2026-03-14T09:00:00Z", "u6");
            b.Payment("2026-03-15T09:06:00Z", succeeded: true, 110, "u6", place: Place.Mexico);
            b.Lead("2026-03-14T10:00:00Z", "u7")["properties"]!["priority"] = "low";
            b.Lead("2026-03-14T11:00:00Z", "u9", Place.Colombia)["properties"]!["priority"] = "low";
            b.Payment("2026-03-16T09:00:00Z", succeeded: true, 50, "u9", place: Place.Colombia);

            b.Order("2026-03-31T20:00:00Z", "ord-co", "st-co", "u5", "s8", total: 80000, currency: "COP", fx: 0.00025m, place: Place.Colombia,
                items: [("p-co", 8, 9000m)]);
        });

        Batch(() =>
        {
            // Late: ord-late's delivery after its refund was stored; the refund resent; a second delivery.
            b.Status("2026-04-04T12:00:00Z", "ord-late", "st-mx", "ENTREGADO", total: 120, commission: 12);
            b.Resend(lateRefund);
            b.Status("2026-04-04T18:00:00Z", "ord-late", "st-mx", "ENTREGADO", total: 120, commission: 12);
            // ord-undo's delivery, earlier than its stored cancellation.
            b.Status("2026-04-05T10:00:00Z", "ord-undo", "st-mx", "ENTREGADO");
            // An order the hub never saw placed.
            b.Status("2026-04-07T10:00:00Z", "ord-ghost", "st-mx", "ENTREGADO", total: 90, commission: 9);
            b.Status("2026-04-08T10:00:00Z", "ord-ghost", "st-mx", "REEMBOLSADO", total: 90, commission: 9, refunded: 30);
            // Around month end: UTC's April, still Santiago's March 31 for the delivery.
            b.Status("2026-03-31T23:30:00Z", "ord-co", "st-co", "ENTREGADO", total: 80000, commission: 8000, currency: "COP", fx: 0.00025m);
            b.Status("2026-04-01T00:30:00Z", "ord-co", "st-co", "REEMBOLSADO", total: 80000, commission: 8000, currency: "COP", fx: 0.00025m, refunded: 20000);
            b.Inventory("2026-03-25T06:00:00Z", "st-mx", "p-2", 5);
        });
        return batches;
    }
}
