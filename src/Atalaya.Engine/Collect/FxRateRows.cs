using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

/// <summary>
/// Where the daily exchange rates are kept: the data folder's <c>fx_rates</c>, or on a cluster with
/// PostgreSQL (<c>--postgres</c>) the one table every node reads, so that two collectors never freeze
/// different rates into events of the same day. The statements are the same text on both.
/// </summary>
public interface IFxRateRows
{
    /// <summary>Every stored rate.</summary>
    IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> Read();

    /// <summary>Adds or replaces the rates (by day and currency), all or nothing.</summary>
    void Upsert(IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> rates);
}

/// <summary>Which <see cref="IFxRateRows"/> a hub or a command works on.</summary>
public static class FxRateRows
{
    /// <summary>The cluster's in PostgreSQL when given one, the data folder's otherwise.</summary>
    public static IFxRateRows Of(HubDatabase database, PostgresState? postgres) =>
        postgres is null ? new SqliteFxRateRows(database) : new PostgresFxRateRows(postgres);

    /// <summary>The cluster's, for a command given only <c>--postgres</c>.</summary>
    public static IFxRateRows Shared(PostgresState postgres) => new PostgresFxRateRows(postgres);

    internal static IReadOnlyList<(DateOnly, string, decimal)> Read(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT day, currency, rate FROM fx_rates ORDER BY currency, day;";
        using var reader = command.ExecuteReader();
        var rows = new List<(DateOnly, string, decimal)>();
        while (reader.Read())
        {
            rows.Add((DateOnly.ParseExact(reader.GetString(0), "yyyy-MM-dd", CultureInfo.InvariantCulture), reader.GetString(1),
                decimal.Parse(reader.GetString(2), CultureInfo.InvariantCulture)));
        }
        return rows;
    }

    internal static void Upsert(DbConnection connection, IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> rates)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO fx_rates (day, currency, rate) VALUES (@day, @currency, @rate) ON CONFLICT (day, currency) DO UPDATE SET rate = excluded.rate;";
        var day = Parameter(command, "@day");
        var currency = Parameter(command, "@currency");
        var rate = Parameter(command, "@rate");
        foreach (var r in rates)
        {
            day.Value = r.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            currency.Value = r.Currency;
            rate.Value = r.Rate.ToString(CultureInfo.InvariantCulture);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    private static DbParameter Parameter(DbCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = System.Data.DbType.String;
        command.Parameters.Add(parameter);
        return parameter;
    }
}

internal sealed class SqliteFxRateRows(HubDatabase database) : IFxRateRows
{
    public IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> Read()
    {
        using var connection = database.Connect();
        return FxRateRows.Read(connection);
    }

    public void Upsert(IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> rates)
    {
        using var connection = database.Connect();
        FxRateRows.Upsert(connection, rates);
    }
}

/// <summary>The cluster's rates; a server that cannot be reached is a <see cref="StateUnavailableException"/>.</summary>
internal sealed class PostgresFxRateRows(PostgresState postgres) : IFxRateRows
{
    public IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> Read() => postgres.Run(FxRateRows.Read);

    public void Upsert(IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> rates) => postgres.Run(connection =>
    {
        FxRateRows.Upsert(connection, rates);
        return 0;
    });
}
