namespace Atalaya.Tests.Robustness;

/// <summary>The per-request outcome the collector reports (CONTRACT §2).</summary>
public sealed record CollectAnswer(bool Success, int Accepted, int Duplicates, int Rejected);
