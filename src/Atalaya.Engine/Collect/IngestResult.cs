namespace Atalaya.Engine.Collect;

/// <summary>The per-request outcome the collector answers with (docs/collector.md).</summary>
public sealed record IngestResult(int Accepted, int Duplicates, IReadOnlyList<EventRejection> Rejected)
{
    /// <summary>Nothing in the request could be stored: the collector answers 400.</summary>
    public bool NothingAccepted => Accepted == 0 && Duplicates == 0;
}

/// <summary>One refused event: its position in the request, its id when it had one, and why.</summary>
public sealed record EventRejection(int Index, string? EventId, RejectReason Reason, IReadOnlyList<string> Errors);

/// <summary>The body as a whole cannot be read; the message says where.</summary>
public sealed class MalformedBodyException(string message) : Exception(message);
