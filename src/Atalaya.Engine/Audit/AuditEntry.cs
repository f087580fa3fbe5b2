namespace Atalaya.Engine.Audit;

/// <summary>
/// One audited action: who (token id, never the token), when, what (endpoint or administrative
/// action), with which normalized parameters, under which scope, which filters the scope injected,
/// how many rows were returned and the HTTP status.
/// </summary>
public sealed record AuditEntry(
    DateTimeOffset At, string Actor, string Role, string Action, string Params, string Scope, string Injected, int Rows, int Status);

/// <summary>A stored entry with its place in the chain.</summary>
public sealed record AuditRecord(long Seq, AuditEntry Entry, byte[] PreviousHash, byte[] Hash);

/// <summary>The outcome of <see cref="AuditLog.Verify()"/>: how many entries were checked and the first broken link, if any.</summary>
public sealed record AuditVerification(long Checked, long? BrokenAt, string? Problem)
{
    public bool Intact => BrokenAt is null;
}
