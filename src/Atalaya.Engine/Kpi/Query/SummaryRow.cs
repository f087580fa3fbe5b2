namespace Atalaya.Engine.Kpi.Query;

/// <summary>A KPI today so far against yesterday and the mean of the seven whole days before today.</summary>
public sealed record SummaryRow(KpiId Metric, double? Today, double? Yesterday, double? Avg7d, double? ChangeVsYesterdayPct, double? ChangeVsAvg7dPct);
