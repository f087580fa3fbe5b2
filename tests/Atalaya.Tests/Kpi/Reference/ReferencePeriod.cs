namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// One row's period: the half-open instant range [<see cref="Start"/>, <see cref="End"/>), already
/// cut to the query's range, with its label. <see cref="FullStart"/> is where the uncut period
/// begins and [<see cref="PreviousStart"/>, <see cref="FullStart"/>) is the period of the same
/// aggregate just before it (for store_churn_rate). <see cref="MonthStart"/> starts the calendar
/// month holding the period's last instant (for mrr).
/// </summary>
public sealed record ReferencePeriod(
    string Label,
    DateTimeOffset Start,
    DateTimeOffset End,
    DateTimeOffset FullStart,
    DateTimeOffset PreviousStart,
    DateTimeOffset MonthStart)
{
    public bool Contains(DateTimeOffset instant) => instant >= Start && instant < End;

    public bool ContainsPrevious(DateTimeOffset instant) => instant >= PreviousStart && instant < FullStart;
}
