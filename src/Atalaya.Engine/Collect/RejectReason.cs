namespace Atalaya.Engine.Collect;

/// <summary>Why the collector refused an event; each reason has its own counter.</summary>
public enum RejectReason
{
    /// <summary>Not a JSON object, or a line that is not JSON.</summary>
    Malformed,
    /// <summary>Over the per-event size limit.</summary>
    TooLarge,
    /// <summary>The envelope (event_id, event_type, timestamp, ids, context) is invalid.</summary>
    InvalidEnvelope,
    /// <summary>A catalog rule of the event type failed.</summary>
    InvalidProperties,
    /// <summary>A Segment message that cannot be mapped (unknown type, no event name).</summary>
    UnmappableSegmentMessage,
}
