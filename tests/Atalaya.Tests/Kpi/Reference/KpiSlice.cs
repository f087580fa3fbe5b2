namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// What one KPI row may read: the events, orders, final statuses and sessions whose dimensions
/// are inside the query's filters and the row's group. The rules make filters and groups apply
/// to history too (first orders, earlier orders, payments after a lead), so history is taken from
/// the slice, never from the whole log. Sessions are in by their first event's dimensions.
/// </summary>
public sealed class KpiSlice
{
    private readonly Dictionary<string, List<ReferenceEvent>> _byType;

    /// <param name="paymentsInScope">Which payments a lead of the slice may convert with (default: <paramref name="inScope"/>).</param>
    public KpiSlice(ReferenceData data, Func<Dimensions, bool> inScope, Func<Dimensions, bool>? paymentsInScope = null)
    {
        Events = [.. data.Events.Where(e => inScope(e.Dimensions))];
        Orders = [.. data.Orders.Where(e => inScope(e.Dimensions))];
        Ledger = [.. data.Ledger.Where(l => inScope(l.Event.Dimensions))];
        Sessions = [.. data.Sessions.Where(s => inScope(s.Dimensions))];
        _byType = Events.GroupBy(e => e.Type, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        FirstOrderOfUser = Orders.Where(o => o.User is not null)
            .GroupBy(o => o.User!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Min(o => o.Timestamp), StringComparer.Ordinal);
        PaymentsOfUser = data.Events.Where(e => e.Type == "payment_succeeded" && e.User is not null && (paymentsInScope ?? inScope)(e.Dimensions))
            .ToLookup(e => e.User!, StringComparer.Ordinal);
    }

    /// <summary>By timestamp, ties in storage order (as every list here).</summary>
    public IReadOnlyList<ReferenceEvent> Events { get; }

    public IReadOnlyList<ReferenceEvent> Orders { get; }

    public IReadOnlyList<LedgerLine> Ledger { get; }

    public IReadOnlyList<ReferenceSession> Sessions { get; }

    /// <summary>Each user's earliest order in the slice (orders without a user are in no user's history).</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> FirstOrderOfUser { get; }

    public ILookup<string, ReferenceEvent> PaymentsOfUser { get; }

    public IReadOnlyList<ReferenceEvent> OfType(string eventType) =>
        _byType.TryGetValue(eventType, out var events) ? events : [];

    public IEnumerable<ReferenceEvent> EventsIn(ReferencePeriod period) => Between(Events, e => e.Timestamp, period.Start, period.End);

    public IEnumerable<ReferenceEvent> OfTypeIn(string eventType, ReferencePeriod period) =>
        Between(OfType(eventType), e => e.Timestamp, period.Start, period.End);

    public IEnumerable<ReferenceEvent> OrdersIn(ReferencePeriod period) => Between(Orders, e => e.Timestamp, period.Start, period.End);

    public IEnumerable<ReferenceEvent> OrdersBetween(DateTimeOffset start, DateTimeOffset end) => Between(Orders, e => e.Timestamp, start, end);

    /// <summary>The ledger's lines of one kind (delivery, cancellation, refund) in the period.</summary>
    public IEnumerable<LedgerLine> LedgerIn(string kind, ReferencePeriod period) =>
        Between(Ledger, l => l.Timestamp, period.Start, period.End).Where(l => l.Kind == kind);

    public IEnumerable<ReferenceSession> SessionsIn(ReferencePeriod period) => Between(Sessions, s => s.Start, period.Start, period.End);

    /// <summary>The items of a time-ordered list in [start, end): a binary search for the first, then a walk.</summary>
    private static IEnumerable<T> Between<T>(IReadOnlyList<T> sorted, Func<T, DateTimeOffset> time, DateTimeOffset start, DateTimeOffset end)
    {
        var low = 0;
        var high = sorted.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (time(sorted[middle]) < start)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        for (var i = low; i < sorted.Count && time(sorted[i]) < end; i++)
        {
            yield return sorted[i];
        }
    }
}
