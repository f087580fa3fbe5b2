namespace Atalaya.Tests.Access;

/// <summary>Who sends a request: a read token with its scope, a write key, a revoked or unknown token, or nobody.</summary>
public sealed record Caller(string Name, CallerKind Kind, string? Secret, TokenScope? Scope)
{
    public override string ToString() => Scope?.ToString() ?? $"{Name} ({Kind})";
}
