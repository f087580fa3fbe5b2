using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Access;

/// <summary>
/// Tokens: 256-bit random secrets with a recognizable prefix (<c>atl_write_…</c>, <c>atl_admin_…</c>),
/// shown once and stored only as SHA-256 hashes. Lookups are cached for at most one second, so a
/// revocation made by another process (the CLI) takes effect on a running server within a second.
/// Last-used times are kept in memory and written in bulk by <see cref="FlushLastUsed"/>. The rows
/// live in the data folder or, on a cluster, in PostgreSQL (<see cref="ITokenRows"/>); a store on
/// PostgreSQL throws <see cref="StateUnavailableException"/> while the server cannot be reached.
/// </summary>
public sealed class TokenStore
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private const int MaxCached = 10_000;
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private readonly ITokenRows _rows;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (TokenInfo? Token, DateTimeOffset LoadedAt)> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastUsed = new(StringComparer.Ordinal);

    /// <summary>Tokens in the data folder's database.</summary>
    public TokenStore(HubDatabase database, TimeProvider? time = null)
        : this(new SqliteTokenRows(database), time)
    {
    }

    /// <summary>Tokens in a cluster's PostgreSQL, shared by every node (<c>--postgres</c>).</summary>
    public TokenStore(PostgresState postgres, TimeProvider? time = null)
        : this(new PostgresTokenRows(postgres), time)
    {
    }

    internal TokenStore(ITokenRows rows, TimeProvider? time)
    {
        _rows = rows;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Creates a token; the returned secret is the only copy there will ever be.</summary>
    public (TokenInfo Token, string Secret) Create(TokenRequest request)
    {
        request = Normalize(request);
        Validate(request, _time.GetUtcNow());
        var secret = $"atl_{Roles.Name(request.Role).Replace("_", "", StringComparison.Ordinal)}_{RandomBase62(43)}";
        var id = "tok_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var now = _time.GetUtcNow();
        var token = new TokenInfo(id, request.Name ?? $"{Roles.Name(request.Role)} token", request.Role,
            request.Countries ?? [], request.Hubs ?? [], request.Zones ?? [], request.Stores ?? [],
            request.Role == Role.Write ? request.Source ?? "default" : request.Source, now, null, null, request.ExpiresAt);
        _rows.Insert(token, Hash(secret));
        return (token, secret);
    }

    /// <summary>Country codes in capitals ("mx" is MX), other list entries trimmed.</summary>
    private static TokenRequest Normalize(TokenRequest request) => request with
    {
        Countries = request.Countries?.Select(c => c.Trim() is { Length: 2 } code && code.All(char.IsAsciiLetter) ? code.ToUpperInvariant() : c.Trim()).ToList(),
        Hubs = request.Hubs?.Select(h => h.Trim()).ToList(),
        Zones = request.Zones?.Select(z => z.Trim()).ToList(),
        Stores = request.Stores?.Select(s => s.Trim()).ToList(),
    };

    /// <summary>
    /// Refuses what cannot be right rather than storing a token that silently sees nothing (a country
    /// named "mexico") or less than its holder thinks (a vendor token with countries, which scope by
    /// store only).
    /// </summary>
    private static void Validate(TokenRequest request, DateTimeOffset now)
    {
        var role = Roles.Name(request.Role);
        if (request.Role == Role.Vendor && (request.Stores is null || request.Stores.Count == 0))
        {
            throw new TokenRequestException("stores", "a vendor token needs the vendor's store ids.");
        }
        if (request.Role == Role.CountryOpsLead && (request.Countries is null || request.Countries.Count == 0))
        {
            throw new TokenRequestException("countries", "a country_ops_lead token needs its country codes (e.g. MX,CO).");
        }
        foreach (var (field, values) in new[] { ("countries", request.Countries), ("hubs", request.Hubs), ("zones", request.Zones), ("stores", request.Stores) })
        {
            if (values?.FirstOrDefault(v => v.Length is 0 or > 128) is { } bad)
            {
                throw new TokenRequestException(field, $"'{bad}' must be 1–128 characters.");
            }
        }
        if (request.Role != Role.CountryOpsLead)
        {
            foreach (var (field, values) in new[] { ("countries", request.Countries), ("hubs", request.Hubs), ("zones", request.Zones) })
            {
                if (values is { Count: > 0 })
                {
                    throw new TokenRequestException(field, request.Role == Role.Vendor
                        ? "a vendor token is scoped by its stores only; leave this out."
                        : $"only country_ops_lead tokens are scoped by country, hub or zone; a {role} token {(request.Role == Role.Write ? "writes for its source" : "sees everything")}.");
                }
            }
        }
        if (request.Role != Role.Vendor && request.Stores is { Count: > 0 })
        {
            throw new TokenRequestException("stores", $"only vendor tokens are scoped by store; a {role} token does not take stores.");
        }
        if (request.Countries?.FirstOrDefault(c => c.Length != 2 || !c.All(char.IsAsciiLetterUpper)) is { } country)
        {
            throw new TokenRequestException("countries", $"'{country}' is not an ISO 3166-1 alpha-2 country code; use codes like MX, CO, CL, SE.");
        }
        if (request.Source is { } source && (source.Length is 0 or > 64 || !source.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            throw new TokenRequestException("source", "must be 1–64 letters, digits, '-', '_' or '.'.");
        }
        if (request.ExpiresAt is { } expires && expires <= now)
        {
            throw new TokenRequestException("expires_at", $"{expires:u} is not in the future.");
        }
    }

    public IReadOnlyList<TokenInfo> List() => _rows.List();

    /// <summary>Revokes by public id; false when no such active token exists.</summary>
    public bool Revoke(string id)
    {
        var changed = _rows.Revoke(id, _time.GetUtcNow());
        _cache.Clear();
        return changed;
    }

    /// <summary>The active token for a secret, or null for an unknown or revoked one.</summary>
    /// <exception cref="StateUnavailableException">On PostgreSQL, the lookup was due and the server cannot be reached.</exception>
    public TokenInfo? Authenticate(string? secret)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 200 || !secret.StartsWith("atl_", StringComparison.Ordinal))
        {
            return null;
        }
        var key = Convert.ToHexString(Hash(secret));
        var now = _time.GetUtcNow();
        if (!_cache.TryGetValue(key, out var cached) || now - cached.LoadedAt > CacheFor)
        {
            cached = (_rows.Find(Hash(secret)), now);
            // Unknown secrets are cached too (a retry storm with a bad key costs no query), but
            // anyone can send endless distinct ones: keep the cache bounded.
            if (_cache.Count >= MaxCached)
            {
                _cache.Clear();
            }
            _cache[key] = cached;
        }
        if (cached.Token is not { IsRevoked: false } token || token.IsExpiredAt(now))
        {
            return null;
        }
        _lastUsed[token.Id] = now;
        return token;
    }

    /// <summary>
    /// Writes the last-used times gathered since the previous flush. When the write fails (a full
    /// disk, PostgreSQL away) the times are kept for the next flush and the failure is thrown for the caller to log.
    /// </summary>
    public void FlushLastUsed()
    {
        if (_lastUsed.IsEmpty)
        {
            return;
        }
        var taken = new List<(string Id, DateTimeOffset When)>();
        foreach (var tokenId in _lastUsed.Keys)
        {
            if (_lastUsed.TryRemove(tokenId, out var when))
            {
                taken.Add((tokenId, when));
            }
        }
        try
        {
            _rows.WriteLastUsed(taken);
        }
        catch
        {
            foreach (var (tokenId, when) in taken)
            {
                _lastUsed.AddOrUpdate(tokenId, when, (_, newer) => newer > when ? newer : when);
            }
            throw;
        }
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string RandomBase62(int length)
    {
        // 43 base-62 characters carry 256 bits; rejection sampling keeps every character uniform.
        var chars = new char[length];
        var i = 0;
        Span<byte> bytes = stackalloc byte[64];
        while (i < length)
        {
            RandomNumberGenerator.Fill(bytes);
            foreach (var b in bytes)
            {
                if (b < 248 && i < length)
                {
                    chars[i++] = Base62[b % 62];
                }
            }
        }
        return new string(chars);
    }
}
