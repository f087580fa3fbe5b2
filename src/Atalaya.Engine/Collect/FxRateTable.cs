using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Collect;

/// <summary>
/// The configured daily exchange rates (units of reporting currency per unit of a currency). The
/// collector looks an event's rate up here when the source did not freeze one, and stores the rate
/// it used with the event, so later edits of this table never change past KPIs (CONTRACT §1.2).
/// A day without a rate uses the closest earlier day's.
/// </summary>
public sealed class FxRateTable
{
    private readonly ConcurrentDictionary<string, SortedList<DateOnly, decimal>> _rates = new(StringComparer.Ordinal);

    public bool TryGet(string currency, DateOnly day, out decimal rate)
    {
        rate = 0;
        if (!_rates.TryGetValue(currency, out var days))
        {
            return false;
        }
        lock (days)
        {
            var keys = days.Keys;
            int lo = 0, hi = keys.Count - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) / 2;
                if (keys[mid] <= day)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            if (found < 0)
            {
                return false;
            }
            rate = days.Values[found];
            return true;
        }
    }

    public void Set(string currency, DateOnly day, decimal rate)
    {
        var days = _rates.GetOrAdd(currency, _ => []);
        lock (days)
        {
            days[day] = rate;
        }
    }

    public static FxRateTable Load(SqliteConnection connection)
    {
        var table = new FxRateTable();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT day, currency, rate FROM fx_rates;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            table.Set(reader.GetString(1), DateOnly.ParseExact(reader.GetString(0), "yyyy-MM-dd", CultureInfo.InvariantCulture),
                decimal.Parse(reader.GetString(2), CultureInfo.InvariantCulture));
        }
        return table;
    }

    /// <summary>Stores rates durably and in memory (upsert by day and currency).</summary>
    public void Save(SqliteConnection connection, IEnumerable<(DateOnly Day, string Currency, decimal Rate)> rates)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO fx_rates (day, currency, rate) VALUES ($day, $currency, $rate) ON CONFLICT (day, currency) DO UPDATE SET rate = excluded.rate;";
        var day = command.Parameters.Add("$day", SqliteType.Text);
        var currency = command.Parameters.Add("$currency", SqliteType.Text);
        var rate = command.Parameters.Add("$rate", SqliteType.Text);
        var saved = new List<(DateOnly, string, decimal)>();
        foreach (var r in rates)
        {
            day.Value = r.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            currency.Value = r.Currency;
            rate.Value = r.Rate.ToString(CultureInfo.InvariantCulture);
            command.ExecuteNonQuery();
            saved.Add(r);
        }
        transaction.Commit();
        foreach (var (d, c, v) in saved)
        {
            Set(c, d, v);
        }
    }
}
