namespace Atalaya.Engine.Kpi;

/// <summary>One KPI of the dictionary: what it means, its unit and the version in force.</summary>
public sealed record KpiDefinition(
    string Id, string Name, string Description, string Unit, string Additivity, string Definition,
    int Version, IReadOnlyList<KpiChange> Changes);

/// <summary>A dated change of a KPI definition or of the dictionary.</summary>
public sealed record KpiChange(int Version, string Date, string Reason);
