namespace Atalaya.Engine.Kpi.Query;

/// <summary>The period length of a KPI row.</summary>
public enum Aggregate
{
    Hourly,
    Daily,
    Weekly,
    Monthly,
}
