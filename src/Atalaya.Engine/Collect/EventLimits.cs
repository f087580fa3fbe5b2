namespace Atalaya.Engine.Collect;

/// <summary>
/// The shape limits of a stored event (docs/collector.md), shared by the two normalizers — the single
/// pass over the request's bytes and the document path for escaped or unusual events — so that an
/// event is accepted or refused the same way whichever path reads it. They are part of the event
/// contract, not settings: the size and rate limits that are settings live in <see cref="IngestOptions"/>.
/// </summary>
internal static class EventLimits
{
    /// <summary>Longest <c>event_id</c>, also the longest id echoed back in a rejection.</summary>
    public const int EventIdLength = 128;

    /// <summary>Longest <c>event_type</c> (snake_case).</summary>
    public const int EventTypeLength = 64;

    /// <summary>Longest free-text context member (ip, user_agent, referrer, page_url, …).</summary>
    public const int FreeTextLength = 4096;

    /// <summary>Timestamps are accepted from the first day of this year …</summary>
    public const int FirstYear = 2000;

    /// <summary>… to the last day of this one.</summary>
    public const int LastYear = 2100;
}
