using System.Data;
using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Storage;

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

/// <summary>
/// The <c>slo_hours</c> table: counts per UTC hour and objective, added to (never recomputed). The
/// statements are the same text on the data folder's SQLite and a cluster's PostgreSQL
/// (<see cref="ISloRows"/>), where every node adds its own counts to the same rows.
/// </summary>
public static class SloStore
{
    public static string HourKey(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture);

    public static void Add(HubDatabase database, IEnumerable<(string Hour, string Slo, long Good, long Total)> counts) => new SqliteSloRows(database).Add(counts);

    /// <summary>Every objective over [from, to) (UTC hours).</summary>
    public static IReadOnlyList<SloStatus> Status(HubDatabase database, DateTimeOffset from, DateTimeOffset to) => new SqliteSloRows(database).Status(from, to);

    /// <summary>Adds the counts in the caller's transaction (an additive upsert: other nodes' counts for the same hour add up).</summary>
    internal static void Add(DbConnection connection, DbTransaction transaction, IEnumerable<(string Hour, string Slo, long Good, long Total)> counts)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO slo_hours (hour, slo, good, total) VALUES (@hour, @slo, @good, @total)
            ON CONFLICT (hour, slo) DO UPDATE SET good = slo_hours.good + excluded.good, total = slo_hours.total + excluded.total;
            """;
        var hour = Parameter(command, "@hour", DbType.String);
        var slo = Parameter(command, "@slo", DbType.String);
        var good = Parameter(command, "@good", DbType.Int64);
        var total = Parameter(command, "@total", DbType.Int64);
        foreach (var count in counts)
        {
            (hour.Value, slo.Value, good.Value, total.Value) = (count.Hour, count.Slo, count.Good, count.Total);
            command.ExecuteNonQuery();
        }
    }

    internal static IReadOnlyList<SloStatus> Status(DbConnection connection, DateTimeOffset from, DateTimeOffset to)
    {
        using var command = connection.CreateCommand();
        // Cast: PostgreSQL sums bigints as numeric.
        command.CommandText = "SELECT slo, CAST(SUM(good) AS BIGINT), CAST(SUM(total) AS BIGINT) FROM slo_hours WHERE hour >= @from AND hour < @to GROUP BY slo;";
        Parameter(command, "@from", DbType.String).Value = HourKey(from);
        Parameter(command, "@to", DbType.String).Value = HourKey(to);
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

    private static DbParameter Parameter(DbCommand command, string name, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        command.Parameters.Add(parameter);
        return parameter;
    }
}

/// <summary>
/// Where the SLO hour counts live: the data folder's SQLite (<see cref="SqliteSloRows"/>) or, on a
/// cluster, PostgreSQL (<see cref="PostgresSloRows"/>), where every node adds its counts to the same
/// rows so that an objective is judged over the whole cluster's requests.
/// </summary>
public interface ISloRows
{
    /// <summary>Adds the counts, all or nothing.</summary>
    void Add(IEnumerable<(string Hour, string Slo, long Good, long Total)> counts);

    /// <summary>Every objective over [from, to) (UTC hours).</summary>
    IReadOnlyList<SloStatus> Status(DateTimeOffset from, DateTimeOffset to);
}

/// <summary>Which <see cref="ISloRows"/> a hub or a command works on.</summary>
public static class SloRows
{
    /// <summary>The cluster's in PostgreSQL when given one (<c>--postgres</c>), the data folder's otherwise.</summary>
    public static ISloRows Of(HubDatabase database, Postgres.PostgresState? postgres) =>
        postgres is null ? new SqliteSloRows(database) : new PostgresSloRows(postgres);
}

internal sealed class SqliteSloRows(HubDatabase database) : ISloRows
{
    public void Add(IEnumerable<(string Hour, string Slo, long Good, long Total)> counts)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        SloStore.Add(connection, transaction, counts);
        transaction.Commit();
    }

    public IReadOnlyList<SloStatus> Status(DateTimeOffset from, DateTimeOffset to)
    {
        using var connection = database.Connect();
        return SloStore.Status(connection, from, to);
    }
}

/// <summary>SLO counts in a cluster's PostgreSQL; a server that cannot be reached is a <see cref="Postgres.StateUnavailableException"/>.</summary>
internal sealed class PostgresSloRows(Postgres.PostgresState postgres) : ISloRows
{
    public void Add(IEnumerable<(string Hour, string Slo, long Good, long Total)> counts) => postgres.Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        SloStore.Add(connection, transaction, counts);
        transaction.Commit();
        return 0;
    });

    public IReadOnlyList<SloStatus> Status(DateTimeOffset from, DateTimeOffset to) => postgres.Run(connection => SloStore.Status(connection, from, to));
}
