namespace Atalaya.Tests.Robustness;

/// <summary>The per-request outcome the collector reports (docs/collector.md).</summary>
public sealed record CollectAnswer(bool Success, int Accepted, int Duplicates, int Rejected);
