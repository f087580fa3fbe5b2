using System.CommandLine;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Storage;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary><c>atalaya fx import|list</c>: the daily exchange-rate table used when an event carries no frozen rate.</summary>
public static class FxCommand
{
    public static Command Create()
    {
        var command = new Command("fx", "Manage the daily exchange rates (to the reporting currency) the collector freezes into events.");
        command.Add(ImportCommand());
        command.Add(ListCommand());
        return command;
    }

    private static Command ImportCommand()
    {
        var data = CommonOptions.Data();
        var postgres = CommonOptions.Postgres("Keep the rates every node of a cluster uses");
        var file = new Argument<FileInfo>("FILE") { Description = "CSV lines day,currency,rate (e.g. 2026-03-01,MXN,0.0551); a header line is optional." };
        var command = new Command("import", "Add or replace rates; a running server (on a cluster, every node) uses them within 10 s. Events already stored keep the rate they were given.")
        {
            data, postgres, file,
        };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists)
            {
                return CommonOptions.Fail($"no such file: {path.FullName}");
            }
            using var reader = path.OpenText();
            var (rates, errors) = FxRateTable.ParseCsv(reader);
            if (errors.Count > 0)
            {
                foreach (var error in errors.Take(20))
                {
                    Console.Error.WriteLine($"error: {error}");
                }
                return CommonOptions.Fail($"{errors.Count} bad line(s) in {path.Name}; nothing was imported.");
            }
            return WithRows(parse.GetValue(data)!, parse.GetValue(postgres), rows =>
            {
                new FxRateTable().Save(rows, rates);
                Console.WriteLine($"Imported {rates.Count:N0} rates for {rates.Select(r => r.Currency).Distinct().Count()} currencies.");
                return 0;
            });
        });
        return command;
    }

    private static Command ListCommand()
    {
        var data = CommonOptions.Data();
        var postgres = CommonOptions.Postgres("Show the rates every node of a cluster uses, kept");
        var command = new Command("list", "Show the stored rates.") { data, postgres };
        command.SetAction(parse => WithRows(parse.GetValue(data)!, parse.GetValue(postgres), rows =>
        {
            var table = new Table().AddColumns("day", "currency", "rate");
            foreach (var (day, currency, rate) in rows.Read())
            {
                table.AddRow(day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), currency, rate.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    /// <summary>Runs <paramref name="work"/> on the cluster's rates when <c>--postgres</c> is given (the data folder is then not opened), else on the folder's.</summary>
    private static int WithRows(string dataDirectory, string? postgres, Func<IFxRateRows, int> work)
    {
        if (postgres is null)
        {
            return work(FxRateRows.Of(HubDatabase.Open(dataDirectory), null));
        }
        using var shared = CommonOptions.OpenPostgres(postgres);
        if (shared is null)
        {
            return 2;
        }
        try
        {
            return work(FxRateRows.Shared(shared));
        }
        catch (Engine.Postgres.StateUnavailableException e)
        {
            return CommonOptions.Fail($"--postgres: {e.Message}; nothing was changed, try again once it is back.");
        }
    }
}
