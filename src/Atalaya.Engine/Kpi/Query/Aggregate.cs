namespace Atalaya.Engine.Kpi.Query;

/// <summary>The period length of a KPI row.</summary>
public enum Aggregate
{
    Hourly,
    Daily,
    Weekly,
    Monthly,

    /// <summary>The whole range as one row (dashboard cards); its previous period is the same length just before it.</summary>
    Total,
}
