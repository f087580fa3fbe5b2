using Atalaya.Engine.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Atalaya.Engine.Access;

/// <summary>
/// Token rows in a cluster's PostgreSQL (<c>--postgres</c>), shared by every node and CLI command:
/// a token created or revoked anywhere holds on every node (within the store's one-second cache).
/// A server that cannot be reached is a <see cref="StateUnavailableException"/>.
/// </summary>
internal sealed class PostgresTokenRows(PostgresState state) : ITokenRows
{
    public void Insert(TokenInfo token, byte[] secretHash) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand("""
            INSERT INTO tokens (id, name, role, countries, hubs, zones, stores, source, secret_hash, created_at, expires_at)
            VALUES (@id, @name, @role, @countries, @hubs, @zones, @stores, @source, @hash, @created, @expires);
            """, connection);
        command.Parameters.AddWithValue("id", token.Id);
        command.Parameters.AddWithValue("name", token.Name);
        command.Parameters.AddWithValue("role", Roles.Name(token.Role));
        command.Parameters.AddWithValue("countries", TokenRow.Join(token.Countries));
        command.Parameters.AddWithValue("hubs", TokenRow.Join(token.Hubs));
        command.Parameters.AddWithValue("zones", TokenRow.Join(token.Zones));
        command.Parameters.AddWithValue("stores", TokenRow.Join(token.Stores));
        command.Parameters.AddWithValue("source", NpgsqlDbType.Text, (object?)token.Source ?? DBNull.Value);
        command.Parameters.AddWithValue("hash", NpgsqlDbType.Bytea, secretHash);
        command.Parameters.AddWithValue("created", token.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("expires", NpgsqlDbType.Bigint, (object?)token.ExpiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        return command.ExecuteNonQuery();
    });

    public IReadOnlyList<TokenInfo> List() => state.Run(connection =>
    {
        using var command = new NpgsqlCommand($"{TokenRow.Select} ORDER BY created_at, id;", connection);
        using var reader = command.ExecuteReader();
        var tokens = new List<TokenInfo>();
        while (reader.Read())
        {
            tokens.Add(TokenRow.Read(reader));
        }
        return tokens;
    });

    public TokenInfo? Find(byte[] secretHash) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand($"{TokenRow.Select} WHERE secret_hash = @hash;", connection);
        command.Parameters.AddWithValue("hash", NpgsqlDbType.Bytea, secretHash);
        using var reader = command.ExecuteReader();
        return reader.Read() ? TokenRow.Read(reader) : null;
    });

    public bool Revoke(string id, DateTimeOffset at) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand("UPDATE tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL;", connection);
        command.Parameters.AddWithValue("now", at.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("id", id);
        return command.ExecuteNonQuery() == 1;
    });

    /// <summary>One statement for the whole batch: nodes flush every 10 s and a round trip per token would add up.</summary>
    public void WriteLastUsed(IReadOnlyList<(string Id, DateTimeOffset When)> times) => state.Run(connection =>
    {
        using var command = new NpgsqlCommand("""
            UPDATE tokens SET last_used_at = greatest(coalesce(tokens.last_used_at, 0), used.at)
            FROM unnest(@ids, @ats) AS used(id, at)
            WHERE tokens.id = used.id;
            """, connection);
        command.Parameters.AddWithValue("ids", times.Select(t => t.Id).ToArray());
        command.Parameters.AddWithValue("ats", times.Select(t => t.When.ToUnixTimeMilliseconds()).ToArray());
        return command.ExecuteNonQuery();
    });
}
