namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// All stored events with one session_id, whatever their type, period or dimensions. The session
/// belongs to the period of its first event and takes that event's dimensions.
/// </summary>
public sealed class ReferenceSession
{
    public ReferenceSession(string id, IEnumerable<ReferenceEvent> events)
    {
        Id = id;
        Events = [.. events.OrderBy(e => e.Timestamp).ThenBy(e => e.Seq)];
    }

    public string Id { get; }

    /// <summary>The session's events by timestamp, ties in storage order.</summary>
    public IReadOnlyList<ReferenceEvent> Events { get; }

    public ReferenceEvent First => Events[0];

    public DateTimeOffset Start => First.Timestamp;

    public Dimensions Dimensions => First.Dimensions;

    public int EventCount => Events.Count;

    public double DurationSeconds => (Events[^1].Timestamp - Events[0].Timestamp).TotalSeconds;

    public bool Has(string eventType) => Events.Any(e => e.Type == eventType);

    /// <summary>"sessions with checkout_started and a later purchase_completed": a purchase at or after a checkout start.</summary>
    public bool PurchasedAfterCheckout =>
        Events.Any(c => c.Type == "checkout_started" && Events.Any(p => p.Type == "purchase_completed" && p.Timestamp >= c.Timestamp));
}
