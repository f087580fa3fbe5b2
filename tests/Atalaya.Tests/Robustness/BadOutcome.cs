namespace Atalaya.Tests.Robustness;

/// <summary>What the hub answered to one bad request: a status, or no answer at all (Status null).</summary>
public sealed record BadOutcome(BadRequest Case, int? Status, string Answer, CollectAnswer? Counts = null)
{
    /// <summary>
    /// A readable request whose every event was refused is answered 200 with each refusal
    /// (docs/collector.md, "Answers"): that is the per-event form of the 400 or 413 the case expects.
    /// </summary>
    public bool RefusedPerEvent => Status == 200 && Counts is { Accepted: 0, Duplicates: 0, Rejected: > 0 }
        && Case.Expected.Any(e => e is 400 or 413);

    public override string ToString() => $"{Case} → {(Status is { } status ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "dropped")}: {Answer}";
}
