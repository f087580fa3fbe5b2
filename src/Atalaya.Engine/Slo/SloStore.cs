using System.Globalization;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Slo;

/// <summary>An objective over a period: good and total events, attainment and the error budget left.</summary>
public sealed record SloStatus(SloObjective Objective, long Good, long Total)
{
    /// <summary>Good / total; null without events (nothing to judge).</summary>
    public double? Attainment => Total == 0 ? null : (double)Good / Total;

    /// <summary>Share of the allowed bad events still unspent (1 = untouched, 0 = spent, negative = overspent).</summary>
    public double? ErrorBudgetRemaining => Total == 0 ? null : 1 - (Total - Good) / (Total * (1 - Objective.Objective));

    public bool? Met => Attainment is { } a ? a >= Objective.Objective : null;
}

/// <summary>The <c>slo_hours</c> table: counts per UTC hour and objective, added to (never recomputed).</summary>
public static class SloStore
{
    public static string HourKey(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture);

    public static void Add(HubDatabase database, IEnumerable<(string Hour, string Slo, long Good, long Total)> counts)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO slo_hours (hour, slo, good, total) VALUES ($hour, $slo, $good, $total)
            ON CONFLICT (hour, slo) DO UPDATE SET good = good + excluded.good, total = total + excluded.total;
            """;
        foreach (var (hour, slo, good, total) in counts)
        {
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$hour", hour);
            command.Parameters.AddWithValue("$slo", slo);
            command.Parameters.AddWithValue("$good", good);
            command.Parameters.AddWithValue("$total", total);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>Every objective over [from, to) (UTC hours).</summary>
    public static IReadOnlyList<SloStatus> Status(HubDatabase database, DateTimeOffset from, DateTimeOffset to)
    {
        using var connection = database.Connect();
        return Status(connection, from, to);
    }

    public static IReadOnlyList<SloStatus> Status(SqliteConnection connection, DateTimeOffset from, DateTimeOffset to)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT slo, SUM(good), SUM(total) FROM slo_hours WHERE hour >= $from AND hour < $to GROUP BY slo;";
        command.Parameters.AddWithValue("$from", HourKey(from));
        command.Parameters.AddWithValue("$to", HourKey(to));
        var sums = new Dictionary<string, (long Good, long Total)>(StringComparer.Ordinal);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                sums[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            }
        }
        return [.. SloObjectives.All.Select(o => sums.TryGetValue(o.Name, out var s) ? new SloStatus(o, s.Good, s.Total) : new SloStatus(o, 0, 0))];
    }
}
