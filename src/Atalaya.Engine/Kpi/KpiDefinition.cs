namespace Atalaya.Engine.Kpi;

/// <summary>
/// One KPI of the dictionary: what it means, its unit and the version in force; where it is computed
/// from (<see cref="Source"/>: the events, or the connectors' daily rows), the event types it reads
/// (<c>*</c>: any catalog event), and for a connector KPI the dimensions it may be grouped and filtered by.
/// </summary>
public sealed record KpiDefinition(
    string Id, string Name, string Description, string Unit, string Additivity, string Definition,
    int Version, IReadOnlyList<KpiChange> Changes)
{
    public const string FromEvents = "events";

    public const string FromConnectors = "connector";

    public const string AnyEvent = "*";

    public string Source { get; init; } = FromEvents;

    public IReadOnlyList<string> Events { get; init; } = [];

    /// <summary>The dimensions of group_by; null: every dimension (an event KPI).</summary>
    public IReadOnlyList<string>? GroupBy { get; init; }

    /// <summary>The dimensions it may be filtered by; null: every dimension (an event KPI).</summary>
    public IReadOnlyList<string>? Filters { get; init; }

    public bool IsConnector => Source == FromConnectors;

    /// <summary>Whether it is computed from events of this type.</summary>
    public bool Reads(string eventType) => Events.Contains(AnyEvent) || Events.Contains(eventType);
}

/// <summary>A dated change of a KPI definition or of the dictionary.</summary>
public sealed record KpiChange(int Version, string Date, string Reason);
