using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Atalaya.Tests.Support;

/// <summary>Reads what a data folder holds, straight from SQLite, independently of the hub's code.</summary>
public static class StoredEvents
{
    public static List<JsonElement> All(string dataDirectory) => Query(dataDirectory, "SELECT event FROM raw_events ORDER BY seq;")
        .Select(text => JsonDocument.Parse(text).RootElement.Clone()).ToList();

    public static JsonElement Single(string dataDirectory, string eventId) =>
        All(dataDirectory).Single(e => e.GetProperty("event_id").GetString() == eventId);

    public static long Count(string dataDirectory, string where = "1=1") =>
        long.Parse(Query(dataDirectory, $"SELECT count(*) FROM raw_events WHERE {where};").Single(), System.Globalization.CultureInfo.InvariantCulture);

    public static List<string> Query(string dataDirectory, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "atalaya.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        // raw_events inflates the stored blocks through the hub's SQL function.
        Engine.Storage.HubDatabase.RegisterFunctions(connection);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }
        return rows;
    }
}
