using Atalaya.Engine.Collect;
using Atalaya.Engine.Config;

namespace Atalaya.Http;

/// <summary>Everything <c>atalaya serve</c> can be told.</summary>
public sealed record ServeOptions
{
    public required string DataDirectory { get; init; }

    public string Urls { get; init; } = "http://127.0.0.1:5080";

    public IngestOptions Ingest { get; init; } = new();

    /// <summary>Requests per second per write-key source; 0 is unlimited.</summary>
    public int RateLimitPerSecond { get; init; }

    public bool JsonLogs { get; init; }

    /// <summary>The peer benchmark answers only when at least this many comparable stores contribute (docs/metrics-api.md).</summary>
    public int BenchmarkMinimumPeers { get; init; } = 5;

    /// <summary>Schedules, thresholds and retention of the environment (config/environments/NAME.yaml).</summary>
    public EnvironmentConfig Config { get; init; } = new() { Environment = "dev" };

    /// <summary>Runs the job scheduler (catch-up at start, then cron). <c>serve</c> turns it on; tests choose.</summary>
    public bool RunScheduler { get; init; }

    /// <summary>Why the scheduler is off although not turned off (a cluster node without <c>--postgres</c>), logged once at start; null otherwise.</summary>
    public string? SchedulerOff { get; init; }

    /// <summary>How the managed heap's memory is paged (Hosting/HugePages.cs), logged once at start; null when nothing was asked.</summary>
    public string? HeapPages { get; init; }

    /// <summary>How often the hub flushes token last-used times, re-reads FX rates and considers a snapshot.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A KPI snapshot is saved when events arrived and this long passed since the last one (sooner after 500,000 events).</summary>
    public TimeSpan SnapshotInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the /metrics KPI gauges are recomputed, off the scrape path (docs/alerts.md).</summary>
    public TimeSpan KpiGaugeInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After this long without a request the hub compacts its heap and returns the free part to the
    /// operating system (Hosting/IdleMemoryTrim.cs); null turns it off.
    /// </summary>
    public TimeSpan? IdleTrimAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A KPI snapshot is also saved once this many events arrived since the last one (checked every
    /// second): what a crash can leave to replay at the next start is about this many events.
    /// </summary>
    public long SnapshotEveryEvents { get; init; } = 500_000;

    /// <summary>Runs the alert loop (evaluate the rules, deliver notifications). <c>serve</c> turns it on; tests choose.</summary>
    public bool RunAlerts { get; init; }

    /// <summary>Caps the database size in 16 KiB pages (tests use it to fill the "disk").</summary>
    public int? MaxPageCount { get; init; }

    /// <summary>The cluster this node belongs to (<c>--clickhouse</c>, <c>--rabbitmq</c>), or null for the embedded hub (docs/scale-out.md).</summary>
    public Engine.Cluster.ClusterNode? Cluster { get; init; }

    /// <summary>The cluster's shared PostgreSQL state (<c>--postgres</c>: tokens so far), or null to keep it in the data folder. Its opener disposes it.</summary>
    public Engine.Postgres.PostgresState? Postgres { get; init; }

    /// <summary>The hub's clock (token cache, "today", ingest limits). Tests move it to check time-based behaviour without waiting.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
