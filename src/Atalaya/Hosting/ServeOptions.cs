using Atalaya.Engine.Collect;
using Atalaya.Engine.Config;

namespace Atalaya.Hosting;

/// <summary>Everything <c>atalaya serve</c> can be told.</summary>
public sealed record ServeOptions
{
    public required string DataDirectory { get; init; }

    public string Urls { get; init; } = "http://127.0.0.1:5080";

    public IngestOptions Ingest { get; init; } = new();

    /// <summary>Requests per second per write-key source; 0 is unlimited.</summary>
    public int RateLimitPerSecond { get; init; }

    public bool JsonLogs { get; init; }

    /// <summary>The peer benchmark answers only when at least this many comparable stores contribute (CONTRACT §3.2).</summary>
    public int BenchmarkMinimumPeers { get; init; } = 5;

    /// <summary>Schedules, thresholds and retention of the environment (config/environments/NAME.yaml).</summary>
    public EnvironmentConfig Config { get; init; } = new() { Environment = "dev" };

    /// <summary>Runs the job scheduler (catch-up at start, then cron). <c>serve</c> turns it on; tests choose.</summary>
    public bool RunScheduler { get; init; }

    /// <summary>The clock of the alert loop and /metrics (tests pass one they can move).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Runs the alert loop (evaluate the rules, deliver notifications). <c>serve</c> turns it on; tests choose.</summary>
    public bool RunAlerts { get; init; }

    /// <summary>Caps the database size in 16 KiB pages (tests use it to fill the "disk").</summary>
    public int? MaxPageCount { get; init; }
}
