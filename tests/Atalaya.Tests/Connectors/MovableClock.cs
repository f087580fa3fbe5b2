namespace Atalaya.Tests.Connectors;

/// <summary>A clock the test moves: "yesterday" and webhook tolerances are judged by it.</summary>
public sealed class MovableClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
