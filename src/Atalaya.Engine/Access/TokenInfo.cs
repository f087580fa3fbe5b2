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
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt = null)
{
    public bool IsRevoked => RevokedAt is not null;

    /// <summary>Whether the token has passed its optional expiry at <paramref name="now"/>.</summary>
    public bool IsExpiredAt(DateTimeOffset now) => ExpiresAt <= now;
}

/// <summary>What <c>tokens create</c> asks for.</summary>
public sealed record TokenRequest(
    Role Role,
    string? Name = null,
    IReadOnlyList<string>? Countries = null,
    IReadOnlyList<string>? Hubs = null,
    IReadOnlyList<string>? Zones = null,
    IReadOnlyList<string>? Stores = null,
    string? Source = null,
    DateTimeOffset? ExpiresAt = null);

/// <summary>
/// A token request that cannot be right, naming the request's field (<c>countries</c>, <c>stores</c>, …)
/// so that the API can name its JSON member and the command line its option.
/// </summary>
public sealed class TokenRequestException(string field, string problem) : ArgumentException($"{field}: {problem}")
{
    /// <summary>The request field at fault, as the API names it.</summary>
    public string Field { get; } = field;

    /// <summary>What is wrong and how to fix it, without the field's name.</summary>
    public string Problem { get; } = problem;
}
