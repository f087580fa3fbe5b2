namespace Atalaya.Tests.Access;

/// <summary>The kinds of <see cref="Caller"/>.</summary>
public enum CallerKind
{
    Reader,
    WriteKey,
    Revoked,
    Unknown,
    Missing,
}
