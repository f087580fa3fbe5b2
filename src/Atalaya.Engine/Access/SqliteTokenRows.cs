using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Access;

/// <summary>Token rows in the data folder's database (the embedded hub, and a cluster node without <c>--postgres</c>).</summary>
internal sealed class SqliteTokenRows(HubDatabase database) : ITokenRows
{
    public void Insert(TokenInfo token, byte[] secretHash)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO tokens (id, name, role, countries, hubs, zones, stores, source, secret_hash, created_at, expires_at)
            VALUES ($id, $name, $role, $countries, $hubs, $zones, $stores, $source, $hash, $created, $expires);
            """;
        command.Parameters.AddWithValue("$id", token.Id);
        command.Parameters.AddWithValue("$name", token.Name);
        command.Parameters.AddWithValue("$role", Roles.Name(token.Role));
        command.Parameters.AddWithValue("$countries", TokenRow.Join(token.Countries));
        command.Parameters.AddWithValue("$hubs", TokenRow.Join(token.Hubs));
        command.Parameters.AddWithValue("$zones", TokenRow.Join(token.Zones));
        command.Parameters.AddWithValue("$stores", TokenRow.Join(token.Stores));
        command.Parameters.AddWithValue("$source", (object?)token.Source ?? DBNull.Value);
        command.Parameters.AddWithValue("$hash", secretHash);
        command.Parameters.AddWithValue("$created", token.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$expires", (object?)token.ExpiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.ExecuteNonQuery();
    }

    public IReadOnlyList<TokenInfo> List()
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"{TokenRow.Select} ORDER BY created_at, id;";
        using var reader = command.ExecuteReader();
        var tokens = new List<TokenInfo>();
        while (reader.Read())
        {
            tokens.Add(TokenRow.Read(reader));
        }
        return tokens;
    }

    public TokenInfo? Find(byte[] secretHash)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"{TokenRow.Select} WHERE secret_hash = $hash;";
        command.Parameters.AddWithValue("$hash", secretHash);
        using var reader = command.ExecuteReader();
        return reader.Read() ? TokenRow.Read(reader) : null;
    }

    public bool Revoke(string id, DateTimeOffset at)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE tokens SET revoked_at = $now WHERE id = $id AND revoked_at IS NULL;";
        command.Parameters.AddWithValue("$now", at.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteNonQuery() == 1;
    }

    public void WriteLastUsed(IReadOnlyList<(string Id, DateTimeOffset When)> times)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE tokens SET last_used_at = max(coalesce(last_used_at, 0), $at) WHERE id = $id;";
        var at = command.Parameters.Add("$at", SqliteType.Integer);
        var id = command.Parameters.Add("$id", SqliteType.Text);
        foreach (var (tokenId, when) in times)
        {
            at.Value = when.ToUnixTimeMilliseconds();
            id.Value = tokenId;
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }
}
