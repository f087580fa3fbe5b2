namespace Atalaya.Collect;

/// <summary>The collector's answer (docs/collector.md).</summary>
public sealed record CollectResponse(
    bool Success,
    int Accepted,
    int Duplicates,
    IReadOnlyList<RejectedEvent> Rejected,
    string? Error = null);

/// <summary>One refused event in a <see cref="CollectResponse"/>.</summary>
public sealed record RejectedEvent(int Index, string? EventId, IReadOnlyList<string> Errors);
