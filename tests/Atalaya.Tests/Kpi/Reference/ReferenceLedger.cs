using System.Text.Json;

namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// The order lifecycle as a ledger, straight from the dictionary's rule: per order, its final
/// status events (ENTREGADO, CANCELADO, REEMBOLSADO with a snapshot) in time order, ties in storage
/// order. The first ENTREGADO delivers; CANCELADO, or REEMBOLSADO while not delivered, cancels once
/// and only before a delivery; REEMBOLSADO after the delivery refunds snapshot.refunded_amount (or the
/// whole snapshot.total) up to what is left of the delivered total, and reverses
/// snapshot.commission_reversed (or the proportional share of the delivered commission) up to what
/// is left of the delivered commission. Orders need no purchase_completed.
/// </summary>
public static class ReferenceLedger
{
    private static readonly string[] FinalStatuses = ["ENTREGADO", "CANCELADO", "REEMBOLSADO"];

    public static bool IsFinal(ReferenceEvent e) =>
        e.Type == "order_status_changed" && e.Text("order_id") is not null
        && FinalStatuses.Contains(e.Text("status")) && e.Snapshot.ValueKind == JsonValueKind.Object;

    /// <summary>The ledger's lines (events that count nothing are left out), by timestamp then storage order.</summary>
    public static List<LedgerLine> Lines(IEnumerable<ReferenceEvent> events)
    {
        var lines = new List<LedgerLine>();
        foreach (var order in events.Where(IsFinal).GroupBy(e => e.Text("order_id")!, StringComparer.Ordinal))
        {
            ReferenceEvent? delivery = null;
            var cancelled = false;
            decimal refunded = 0, reversed = 0;
            foreach (var e in order.OrderBy(e => e.Timestamp).ThenBy(e => e.Seq))
            {
                var total = ReferenceEvent.Number(e.Snapshot, "total");
                switch (e.Text("status"))
                {
                    case "ENTREGADO" when delivery is null:
                        delivery = e;
                        lines.Add(new LedgerLine(e, "delivery", total, ReferenceEvent.Number(e.Snapshot, "commission_amount")));
                        break;
                    case "CANCELADO" or "REEMBOLSADO" when delivery is null && !cancelled:
                        cancelled = true;
                        lines.Add(new LedgerLine(e, "cancellation", total, 0));
                        break;
                    case "REEMBOLSADO" when delivery is not null:
                        var deliveredTotal = ReferenceEvent.Number(delivery.Snapshot, "total");
                        var deliveredCommission = ReferenceEvent.Number(delivery.Snapshot, "commission_amount");
                        var asked = Optional(e.Snapshot, "refunded_amount") ?? total;
                        var amount = Math.Min(Math.Max(asked, 0), Math.Max(deliveredTotal - refunded, 0));
                        var reversal = Optional(e.Snapshot, "commission_reversed") is { } explicitReversal
                            ? Math.Max(explicitReversal, 0)
                            : deliveredTotal == 0 ? 0 : deliveredCommission * amount / deliveredTotal;
                        reversal = Math.Min(reversal, Math.Max(deliveredCommission - reversed, 0));
                        refunded += amount;
                        reversed += reversal;
                        lines.Add(new LedgerLine(e, "refund", amount, reversal));
                        break;
                }
            }
        }
        return [.. lines.OrderBy(l => l.Timestamp).ThenBy(l => l.Event.Seq)];
    }

    /// <summary>Each order's latest final status now (time order, ties: last stored).</summary>
    public static Dictionary<string, string> LatestStatus(IEnumerable<ReferenceEvent> events) =>
        events.Where(IsFinal)
            .GroupBy(e => e.Text("order_id")!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.Timestamp).ThenBy(e => e.Seq).Last().Text("status")!, StringComparer.Ordinal);

    private static decimal? Optional(JsonElement owner, string property) =>
        owner.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDecimal() : null;
}
