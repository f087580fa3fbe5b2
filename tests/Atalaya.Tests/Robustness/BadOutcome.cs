namespace Atalaya.Tests.Robustness;

/// <summary>What the hub answered to one bad request: a status, or no answer at all (Status null).</summary>
public sealed record BadOutcome(BadRequest Case, int? Status, string Answer)
{
    public override string ToString() => $"{Case} → {(Status is { } status ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "dropped")}: {Answer}";
}
