using System.Collections.Concurrent;
using System.Globalization;

namespace Atalaya.Engine.Collect;

/// <summary>
/// The configured daily exchange rates (units of reporting currency per unit of a currency). The
/// collector looks an event's rate up here when the source did not freeze one, and stores the rate
/// it used with the event, so later edits of this table never change past KPIs (docs/events.md).
/// A day without a rate uses the closest earlier day's.
/// </summary>
public sealed class FxRateTable
{
    private readonly ConcurrentDictionary<string, SortedList<DateOnly, decimal>> _rates;
    private readonly ConcurrentDictionary<string, SortedList<DateOnly, decimal>>.AlternateLookup<ReadOnlySpan<char>> _byChars;

    public FxRateTable()
    {
        _rates = new(StringComparer.Ordinal);
        _byChars = _rates.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool TryGet(string currency, DateOnly day, out decimal rate) => TryGet(currency.AsSpan(), day, out rate);

    /// <summary>The same lookup without allocating the currency code (the ingest hot path).</summary>
    public bool TryGet(ReadOnlySpan<char> currency, DateOnly day, out decimal rate)
    {
        rate = 0;
        if (!_byChars.TryGetValue(currency, out var days))
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

    public static FxRateTable Load(IFxRateRows rows)
    {
        var table = new FxRateTable();
        table.Refresh(rows);
        return table;
    }

    /// <summary>Reads every stored rate into memory (the server calls it periodically, so rates
    /// imported by another process, or on a cluster by any node's command, are used without a restart).</summary>
    public void Refresh(IFxRateRows rows)
    {
        foreach (var (day, currency, rate) in rows.Read())
        {
            Set(currency, day, rate);
        }
    }

    /// <summary>All rates, by currency then day.</summary>
    public IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> All()
    {
        var rows = new List<(DateOnly, string, decimal)>();
        foreach (var (currency, days) in _rates.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            lock (days)
            {
                rows.AddRange(days.Select(d => (d.Key, currency, d.Value)));
            }
        }
        return rows;
    }

    /// <summary>
    /// Parses a rates CSV (<c>day,currency,rate</c>, a header line optional): every bad line is
    /// reported with its number, and nothing is returned unless every line is good.
    /// </summary>
    public static (List<(DateOnly Day, string Currency, decimal Rate)> Rates, List<string> Errors) ParseCsv(TextReader csv)
    {
        var rates = new List<(DateOnly, string, decimal)>();
        var errors = new List<string>();
        var number = 0;
        while (csv.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line) || (number == 1 && line.StartsWith("day", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            var parts = line.Split(',');
            if (parts.Length != 3)
            {
                errors.Add($"line {number}: expected day,currency,rate; got \"{line}\"");
                continue;
            }
            var ok = DateOnly.TryParseExact(parts[0].Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day);
            var currency = parts[1].Trim();
            var rateOk = decimal.TryParse(parts[2].Trim(), NumberStyles.Number, CultureInfo.InvariantCulture, out var rate) && rate > 0;
            if (!ok)
            {
                errors.Add($"line {number}: day must be yyyy-MM-dd, got \"{parts[0].Trim()}\"");
            }
            if (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper))
            {
                errors.Add($"line {number}: currency must be an ISO 4217 code like MXN, got \"{currency}\"");
            }
            if (!rateOk)
            {
                errors.Add($"line {number}: rate must be a number > 0 (units of reporting currency per unit), got \"{parts[2].Trim()}\"");
            }
            if (ok && rateOk && errors.Count == 0)
            {
                rates.Add((day, currency, rate));
            }
        }
        return (errors.Count == 0 ? rates : [], errors);
    }

    /// <summary>Stores rates durably and in memory (upsert by day and currency).</summary>
    public void Save(IFxRateRows rows, IReadOnlyList<(DateOnly Day, string Currency, decimal Rate)> rates)
    {
        rows.Upsert(rates);
        foreach (var (day, currency, rate) in rates)
        {
            Set(currency, day, rate);
        }
    }
}
