namespace Atalaya.Engine.Slo;

/// <summary>One service-level objective (docs/slo.md): the share of good events it promises over 30 days.</summary>
public sealed record SloObjective(string Name, double Objective, string Description);

/// <summary>The hub's objectives and how each counts a good event.</summary>
public static class SloObjectives
{
    public const string CollectorAvailability = "collector_availability";
    public const string IngestToVisible = "ingest_to_visible_latency";
    public const string KpiFreshness = "kpi_freshness";
    public const string ReadLatency = "read_latency";

    /// <summary>An accepted collector request is visible in every figure when its 2xx is sent: within this, it is good.</summary>
    public static readonly TimeSpan IngestLimit = TimeSpan.FromSeconds(1);

    /// <summary>A metrics read answered within this is good (seed 003 flags reads slower than 500 ms).</summary>
    public static readonly TimeSpan ReadLimit = TimeSpan.FromMilliseconds(500);

    /// <summary>A minute is fresh while the daily batch last succeeded within this.</summary>
    public static readonly TimeSpan MartMaxAge = TimeSpan.FromHours(26);

    public static readonly IReadOnlyList<SloObjective> All =
    [
        new(CollectorAvailability, 0.999, "Collector requests (POST /api/events, /v1/*) answered without a 5xx."),
        new(IngestToVisible, 0.99, "Accepted collector requests answered (and so visible in every figure) within 1 s."),
        new(KpiFreshness, 0.99, "Minutes in which the daily batch had last succeeded within 26 h (the D+1 marts are current)."),
        new(ReadLatency, 0.99, "Metrics reads (GET /api/kpi/*, /api/alerts, /api/quality, /api/runs, /api/slo) answered within 500 ms."),
    ];
}
