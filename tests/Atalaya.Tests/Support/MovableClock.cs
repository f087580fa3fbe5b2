namespace Atalaya.Tests.Support;

/// <summary>
/// The real clock plus an offset a test can move forward: time-based behaviour (the token cache's
/// one second, heartbeats) is checked by moving the clock instead of sleeping and timing, which
/// fails whenever the machine is loaded.
/// </summary>
public sealed class MovableClock : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
