using System.Text.Json;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// An event's place in time as the aggregates order events (<see cref="KpiAggregates"/>): its time in
/// milliseconds, then when it was received (ms), then its arrival within that.
/// </summary>
internal readonly record struct LedgerMoment(ulong Ms, ulong ReceivedMs, ulong Arrival) : IComparable<LedgerMoment>
{
    public int CompareTo(LedgerMoment other) =>
        Ms != other.Ms ? Ms.CompareTo(other.Ms) : ReceivedMs != other.ReceivedMs ? ReceivedMs.CompareTo(other.ReceivedMs) : Arrival.CompareTo(other.Arrival);
}

/// <summary>
/// The money KPIs of the order ledger (docs/kpis.md: delivered orders and GMV, cancellations,
/// refunds, commissions, net GMV) per UTC day and country, from the status events <c>kpi_ledger</c>
/// keeps per order. The rule is the dictionary's, replayed per order in time order (ties: as
/// received): the first ENTREGADO delivers; a CANCELADO, or a REEMBOLSADO before any delivery,
/// cancels once and only before a delivery; each REEMBOLSADO after the delivery refunds
/// snapshot.refunded_amount (else the whole total) up to what is left of the delivered total and
/// reverses snapshot.commission_reversed (else the delivered commission in proportion) up to what is
/// left of it. Amounts are read from the stored JSON as exact decimals and each line is converted at
/// its own event's rate, so the figures are the decimal sums, in the order of the events, to the
/// last digit. The node's engine keeps the same ledger in floating point (Kpi/Projection/OrderLedger.cs);
/// this one is its independent check.
/// </summary>
internal sealed class LedgerFigures(long fromMs, long toMs)
{
    /// <summary>The KPI ids it answers.</summary>
    public static readonly IReadOnlyList<string> Metrics =
        ["delivered_orders", "delivered_gmv", "cancelled_orders", "cancelled_gmv", "refunds", "commissions", "net_gmv"];

    private readonly Dictionary<string, List<(LedgerMoment Moment, string Country, string Json)>> _orders = new(StringComparer.Ordinal);

    /// <summary>One status event of <paramref name="order"/>, in the place its KPIs give it.</summary>
    public void Add(string order, LedgerMoment moment, string country, string json)
    {
        if (!_orders.TryGetValue(order, out var events))
        {
            _orders[order] = events = [];
        }
        events.Add((moment, country, json));
    }

    /// <summary>Every figure of the range that is not zero, by day, then country.</summary>
    public IEnumerable<DailyCount> Figures()
    {
        var lines = new List<Line>();
        foreach (var events in _orders.Values)
        {
            events.Sort((a, b) => a.Moment.CompareTo(b.Moment));
            Snapshot? delivery = null;
            var cancelled = false;
            decimal refunded = 0, reversed = 0;
            foreach (var (moment, country, json) in events)
            {
                if (Snapshot.Read(json) is not { } e)
                {
                    continue;
                }
                Line? line = null;
                switch (e.Status)
                {
                    case "ENTREGADO" when delivery is null:
                        delivery = e;
                        line = new Line(moment, country, Kind.Delivery, e.Total, e.Commission, e.Fx);
                        break;
                    case "CANCELADO" or "REEMBOLSADO" when delivery is null && !cancelled:
                        cancelled = true;
                        line = new Line(moment, country, Kind.Cancellation, e.Total, 0, e.Fx);
                        break;
                    case "REEMBOLSADO" when delivery is not null:
                        var amount = Math.Min(Math.Max(e.Refunded ?? e.Total, 0), Math.Max(delivery.Total - refunded, 0));
                        var reversal = e.Reversed is { } explicitReversal ? Math.Max(explicitReversal, 0)
                            : delivery.Total == 0 ? 0 : delivery.Commission * amount / delivery.Total;
                        reversal = Math.Min(reversal, Math.Max(delivery.Commission - reversed, 0));
                        refunded += amount;
                        reversed += reversal;
                        line = new Line(moment, country, Kind.Refund, amount, reversal, e.Fx);
                        break;
                }
                if (line is { } counted && (long)moment.Ms >= fromMs && (long)moment.Ms < toMs)
                {
                    lines.Add(counted);
                }
            }
        }
        // Summed in time order per cell, as the figures add the lines of a period.
        lines.Sort((a, b) => a.Moment.CompareTo(b.Moment));
        var cells = new SortedDictionary<(long Day, string Country), Cell>(Comparer<(long Day, string Country)>.Create((a, b) =>
            a.Day != b.Day ? a.Day.CompareTo(b.Day) : string.CompareOrdinal(a.Country, b.Country)));
        foreach (var line in lines)
        {
            var key = ((long)(line.Moment.Ms / 86_400_000UL), line.Country);
            if (!cells.TryGetValue(key, out var cell))
            {
                cells[key] = cell = new Cell();
            }
            cell.Add(line);
        }
        foreach (var ((day, country), cell) in cells)
        {
            var date = DateOnly.FromDayNumber(new DateOnly(1970, 1, 1).DayNumber + (int)day);
            foreach (var (metric, value) in cell.Values())
            {
                if (value != 0)
                {
                    yield return new DailyCount(metric, date, country, value);
                }
            }
        }
    }

    private enum Kind
    {
        Delivery,
        Cancellation,
        Refund,
    }

    /// <summary>What one final status event adds: amounts in the order's currency, the rate its event froze (null: none).</summary>
    private readonly record struct Line(LedgerMoment Moment, string Country, Kind Kind, decimal Amount, decimal Commission, decimal? Fx)
    {
        public decimal ReportedAmount => Fx is { } rate ? Amount * rate : 0;

        public decimal ReportedCommission => Fx is { } rate ? Commission * rate : 0;
    }

    private sealed class Cell
    {
        private long _delivered, _cancelled;
        private decimal _deliveredGmv, _cancelledGmv, _refunds, _commissionsEarned, _commissionsReversed;

        public void Add(Line line)
        {
            switch (line.Kind)
            {
                case Kind.Delivery:
                    _delivered++;
                    _deliveredGmv += line.ReportedAmount;
                    _commissionsEarned += line.ReportedCommission;
                    break;
                case Kind.Cancellation:
                    _cancelled++;
                    _cancelledGmv += line.ReportedAmount;
                    break;
                case Kind.Refund:
                    _refunds += line.ReportedAmount;
                    _commissionsReversed += line.ReportedCommission;
                    break;
            }
        }

        public IEnumerable<(string Metric, decimal Value)> Values() =>
        [
            ("delivered_orders", _delivered),
            ("delivered_gmv", _deliveredGmv),
            ("cancelled_orders", _cancelled),
            ("cancelled_gmv", _cancelledGmv),
            ("refunds", _refunds),
            ("commissions", _commissionsEarned - _commissionsReversed),
            ("net_gmv", _deliveredGmv - _refunds),
        ];
    }

    /// <summary>A final status event's snapshot as the ledger reads it; null for any other stored event.</summary>
    private sealed record Snapshot(string Status, decimal Total, decimal Commission, decimal? Refunded, decimal? Reversed, decimal? Fx)
    {
        public static Snapshot? Read(string json)
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object
                || !properties.TryGetProperty("order_id", out var order) || order.ValueKind != JsonValueKind.String
                || !properties.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.String
                || !properties.TryGetProperty("snapshot", out var snapshot) || snapshot.ValueKind != JsonValueKind.Object
                || status.GetString() is not ("ENTREGADO" or "CANCELADO" or "REEMBOLSADO"))
            {
                return null;
            }
            return new Snapshot(status.GetString()!, Number(snapshot, "total") ?? 0, Number(snapshot, "commission_amount") ?? 0,
                Number(snapshot, "refunded_amount"), Number(snapshot, "commission_reversed"), Number(root, "fx_rate_to_reporting"));
        }

        private static decimal? Number(JsonElement owner, string property) =>
            owner.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number) ? number : null;
    }
}
