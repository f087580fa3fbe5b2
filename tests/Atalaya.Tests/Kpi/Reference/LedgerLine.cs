namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// What one final status event adds to the money KPIs, read as the dictionary's ledger rule says:
/// <see cref="Kind"/> is "delivery", "cancellation" or "refund"; amounts are in the order's own
/// currency (<see cref="Amount"/> the delivered, cancelled or refunded total, <see cref="Commission"/>
/// the commission earned or reversed) and reported with the event's own rate.
/// </summary>
public sealed record LedgerLine(ReferenceEvent Event, string Kind, decimal Amount, decimal Commission)
{
    public DateTimeOffset Timestamp => Event.Timestamp;

    public decimal? ReportedAmount => Event.Reported(Amount);

    public decimal? ReportedCommission => Event.Reported(Commission);
}
