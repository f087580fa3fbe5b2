using System.Data.Common;

namespace Atalaya.Engine.Access;

/// <summary>
/// Where <see cref="TokenStore"/> keeps its rows: the data folder's SQLite database
/// (<see cref="SqliteTokenRows"/>) or a cluster's PostgreSQL (<see cref="PostgresTokenRows"/>).
/// Only reading and writing rows differs; hashing, validation, the lookup cache and revocation
/// timing are the store's, one code path for both.
/// </summary>
internal interface ITokenRows
{
    void Insert(TokenInfo token, byte[] secretHash);

    /// <summary>Every token, oldest first.</summary>
    IReadOnlyList<TokenInfo> List();

    /// <summary>The token whose secret hashes to <paramref name="secretHash"/>, revoked or not; null when none does.</summary>
    TokenInfo? Find(byte[] secretHash);

    /// <summary>Marks an active token revoked at <paramref name="at"/>; false when no active token has that id.</summary>
    bool Revoke(string id, DateTimeOffset at);

    /// <summary>Raises each token's last-used time to the given one (never lowers it: other processes write too), all or nothing.</summary>
    void WriteLastUsed(IReadOnlyList<(string Id, DateTimeOffset When)> times);
}

/// <summary>The <c>tokens</c> table's columns, the same in both databases, and how a row becomes a <see cref="TokenInfo"/>.</summary>
internal static class TokenRow
{
    public const string Select =
        "SELECT id, name, role, countries, hubs, zones, stores, source, created_at, last_used_at, revoked_at, expires_at FROM tokens";

    public static TokenInfo Read(DbDataReader reader)
    {
        Roles.TryParse(reader.GetString(2), out var role);
        return new TokenInfo(reader.GetString(0), reader.GetString(1), role,
            List(reader.GetString(3)), List(reader.GetString(4)), List(reader.GetString(5)), List(reader.GetString(6)),
            reader.IsDBNull(7) ? null : reader.GetString(7),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
            Time(reader, 9), Time(reader, 10), Time(reader, 11));
    }

    public static string Join(IReadOnlyList<string> values) => string.Join(',', values);

    private static DateTimeOffset? Time(DbDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(column));

    private static string[] List(string text) => text.Length == 0 ? [] : text.Split(',');
}
