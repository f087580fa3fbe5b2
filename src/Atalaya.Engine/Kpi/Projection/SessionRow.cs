namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// One session, kept up to date as its events arrive (in any order): its first event (which gives
/// the session its period and dimensions), its time span, its event count and the steps reached.
/// 32 bytes (checked by a test): the earliest checkout and latest purchase times that decide
/// <see cref="SessionFlags.CheckoutCompleted"/> are kept aside, only for the few sessions with a
/// checkout or a purchase that have not completed a checkout yet (<see cref="CheckoutTimes"/>).
/// </summary>
internal struct SessionRow
{
    public int FirstEvent;
    /// <summary>The first event's dimension combination, kept here so session scans read one row per session.</summary>
    public int FirstCombo;
    public long FirstTs;
    public long LastTs;
    public int Events;
    public SessionFlags Flags;

    /// <summary>A checkout_started with a purchase_completed at or after it (checkout_completion_rate's numerator).</summary>
    public readonly bool CheckoutCompleted => (Flags & SessionFlags.CheckoutCompleted) != 0;
}
