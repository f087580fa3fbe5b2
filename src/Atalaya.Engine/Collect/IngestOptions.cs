namespace Atalaya.Engine.Collect;

/// <summary>
/// The collector's size and rate limits and settings (docs/collector.md). The shape limits of an
/// event itself (id and type lengths, the timestamp years) are fixed in <see cref="EventLimits"/>.
/// </summary>
public sealed record IngestOptions
{
    public int MaxEventBytes { get; init; } = 32 * 1024;

    public int MaxSegmentBatchBytes { get; init; } = 500 * 1024;

    public int MaxNativeRequestBytes { get; init; } = 5 * 1024 * 1024;

    public string ReportingCurrency { get; init; } = "USD";

    /// <summary>Timestamps further ahead of receive time than this are clamped to it and flagged.</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromHours(24);

    public int MaxJsonDepth { get; init; } = 64;

    public const int DefaultQuarantinePerRequest = 100;

    /// <summary>
    /// How many requests may normalize their events at once (the CPU of ingest): one core fewer than
    /// the machine has, at least one, so that dashboards' reads keep a core while collectors send as
    /// fast as they can. The other requests wait for a slot without holding a thread.
    /// </summary>
    public int NormalizeConcurrency { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>
    /// Whether normalizing yields to reads on the lower-priority <see cref="IngestThreads"/> (the
    /// default, for a process that answers dashboards from its own projection). False on a node
    /// that answers no reads (<c>serve --role collect</c>): there the threads only made normalizing
    /// wait on the machine's other servers, and a collecting node took 24–29k events/s instead of
    /// 42–46k (docs/benchmarks.md); it normalizes on the request's thread instead.
    /// </summary>
    public bool NormalizeBehindReads { get; init; } = true;

    /// <summary>Rejected events of one request stored whole in <c>failed_events</c>; the rest are counted (docs/collector.md).</summary>
    public int QuarantinePerRequest { get; init; } = DefaultQuarantinePerRequest;

    public const int DefaultQuarantinePerSourcePerHour = 10_000;

    /// <summary>Rejected events of one source stored whole per clock hour; past it they are counted only.</summary>
    public int QuarantinePerSourcePerHour { get; init; } = DefaultQuarantinePerSourcePerHour;

    /// <summary>
    /// IP addresses are stored truncated to this many leading bits (docs/privacy.md): IPv4 /24 and
    /// IPv6 /48 by default, enough for a country or a network, not a household. 32 and 128 keep
    /// them whole; an address that does not parse is not stored.
    /// </summary>
    public int IpV4PrefixBits { get; init; } = 24;

    /// <inheritdoc cref="IpV4PrefixBits"/>
    public int IpV6PrefixBits { get; init; } = 48;
}
