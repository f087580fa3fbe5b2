using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Audit;
using Atalaya.Http;

namespace Atalaya.Access;

/// <summary>The answer of <c>GET /api/me</c>: the calling token, its stores' names and the hub's reporting currency.</summary>
internal sealed record MeAnswer(
    string Id, string Name, string Role, IReadOnlyList<string> Countries, IReadOnlyList<string> Hubs, IReadOnlyList<string> Zones,
    IReadOnlyList<string> Stores, IReadOnlyDictionary<string, string> StoreNames, string ReportingCurrency);

/// <summary>A token as the API shows it: everything but the secret; instants to the second, UTC.</summary>
internal sealed record TokenView(
    string Id, string Name, string Role, IReadOnlyList<string> Countries, IReadOnlyList<string> Hubs, IReadOnlyList<string> Zones,
    IReadOnlyList<string> Stores, string? Source, string CreatedAt, string? LastUsedAt, string? RevokedAt, string? ExpiresAt)
{
    public static TokenView Of(TokenInfo t) => new(
        t.Id, t.Name, Roles.Name(t.Role), t.Countries, t.Hubs, t.Zones, t.Stores, t.Source,
        Second(t.CreatedAt)!, Second(t.LastUsedAt), Second(t.RevokedAt), Second(t.ExpiresAt));

    private static string? Second(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>The answer of <c>GET /api/tokens</c>.</summary>
internal sealed record TokenList(IReadOnlyList<TokenView> Data);

/// <summary>
/// The answer of <c>POST /api/tokens</c>: the token's fields, its secret (in this answer only) and
/// warnings (a store no event has registered yet). Flat, as <see cref="TokenView"/> plus two members.
/// </summary>
internal sealed record CreatedToken(
    string Id, string Name, string Role, IReadOnlyList<string> Countries, IReadOnlyList<string> Hubs, IReadOnlyList<string> Zones,
    IReadOnlyList<string> Stores, string? Source, string CreatedAt, string? LastUsedAt, string? RevokedAt, string? ExpiresAt,
    string Token, IReadOnlyList<string> Warnings)
{
    public static CreatedToken Of(TokenView t, string secret, IReadOnlyList<string> warnings) => new(
        t.Id, t.Name, t.Role, t.Countries, t.Hubs, t.Zones, t.Stores, t.Source, t.CreatedAt, t.LastUsedAt, t.RevokedAt, t.ExpiresAt, secret, warnings);
}

/// <summary>The answer of <c>DELETE /api/tokens/{id}</c>.</summary>
internal sealed record RevokedToken(string Revoked);

/// <summary>One audit log entry; params, scope and injected are the JSON objects stored with it.</summary>
internal sealed record AuditView(
    long Seq, string At, string Actor, string Role, string Action, JsonElement Params, JsonElement Scope, JsonElement Injected,
    int Rows, int Status, string Hash)
{
    public static AuditView Of(AuditRecord r) => new(
        r.Seq, r.Entry.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), r.Entry.Actor, r.Entry.Role, r.Entry.Action,
        Answers.Stored(r.Entry.Params), Answers.Stored(r.Entry.Scope), Answers.Stored(r.Entry.Injected),
        r.Entry.Rows, r.Entry.Status, Convert.ToHexStringLower(r.Hash));
}

/// <summary>The answer of <c>GET /api/audit</c>: entries, newest first.</summary>
internal sealed record AuditList(IReadOnlyList<AuditView> Data);

/// <summary>Source-generated JSON of the access answers (me, tokens, audit) (<see cref="Answers"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(MeAnswer))]
[JsonSerializable(typeof(TokenList))]
[JsonSerializable(typeof(CreatedToken))]
[JsonSerializable(typeof(RevokedToken))]
[JsonSerializable(typeof(AuditList))]
internal sealed partial class AccessJson : JsonSerializerContext
{
    public static AccessJson Web { get; } = new(Answers.Options());
}
