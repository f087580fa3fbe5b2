namespace Atalaya.Engine.Access;

/// <summary>A token's public record: everything but the secret, which is never stored.</summary>
public sealed record TokenInfo(
    string Id,
    string Name,
    Role Role,
    IReadOnlyList<string> Countries,
    IReadOnlyList<string> Hubs,
    IReadOnlyList<string> Zones,
    IReadOnlyList<string> Stores,
    string? Source,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt)
{
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>What <c>tokens create</c> asks for.</summary>
public sealed record TokenRequest(
    Role Role,
    string? Name = null,
    IReadOnlyList<string>? Countries = null,
    IReadOnlyList<string>? Hubs = null,
    IReadOnlyList<string>? Zones = null,
    IReadOnlyList<string>? Stores = null,
    string? Source = null);
