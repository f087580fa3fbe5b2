namespace Atalaya.Engine.Kpi;

/// <summary>
/// The ids of the marketing KPIs, which the connectors' daily rows feed (Connectors/MarketingKpis.cs
/// evaluates them). They live here, below the connectors, because the KPI dictionary checks that
/// every KPI it defines with <c>source: connector</c> is one of them.
/// </summary>
internal static class MarketingKpiIds
{
    /// <summary>Their definitions, units and allowed dimensions are in the KPI dictionary (source: connector).</summary>
    public static readonly IReadOnlyList<string> All = ["ad_spend", "impressions", "clicks", "installs", "cpi", "roas"];

    public static bool Contains(string id) => All.Contains(id);
}
