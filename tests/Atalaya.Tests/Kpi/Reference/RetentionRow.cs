namespace Atalaya.Tests.Kpi.Reference;

/// <summary>One cohort cell: users of the cohort with an order <see cref="PeriodsSinceFirst"/> periods after their first.</summary>
public sealed record RetentionRow(string Cohort, int PeriodsSinceFirst, int Users);
