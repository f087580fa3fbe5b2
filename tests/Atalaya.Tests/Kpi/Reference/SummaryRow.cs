namespace Atalaya.Tests.Kpi.Reference;

/// <summary>One KPI of <c>/api/kpi/summary</c>: today so far, yesterday, the mean of the seven whole days before today, and the changes.</summary>
public sealed record SummaryRow(string Metric, double? Today, double? Yesterday, double? Avg7d, double? ChangeVsYesterdayPct, double? ChangeVsAvg7dPct);
