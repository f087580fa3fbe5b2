namespace Atalaya.Tests.Support;

/// <summary>
/// The real clock, which the test can hold still and then release moved forward: a cached token
/// lookup stays fresh while the clock is held, so a test can take a shared server away and see
/// what else needs it.
/// </summary>
public sealed class HeldClock : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset? _held;
    private TimeSpan _offset;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _held ?? base.GetUtcNow() + _offset;
        }
    }

    public void Hold()
    {
        lock (_lock)
        {
            _held = base.GetUtcNow() + _offset;
        }
    }

    public void Release(TimeSpan moved)
    {
        lock (_lock)
        {
            _offset = _held!.Value + moved - base.GetUtcNow();
            _held = null;
        }
    }
}
