namespace Atalaya.Engine.Jobs;

/// <summary>What one step of a run did.</summary>
public sealed record StepOutcome(string Step, bool Succeeded, long Records, DateOnly? From, DateOnly? To, string? Error)
{
    /// <summary>Events the step read, when it reads events (staging).</summary>
    public long? Events { get; init; }

    /// <summary>What the step found or did, in words, when its counts do not say it.</summary>
    public string? Note { get; init; }

    /// <summary>Whether the step writes (a run whose writing steps all failed is failed, not partial).</summary>
    public bool Writes { get; init; } = true;
}
