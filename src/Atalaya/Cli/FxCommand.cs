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
        var file = new Argument<FileInfo>("FILE") { Description = "CSV lines day,currency,rate (e.g. 2026-03-01,MXN,0.0551); a header line is optional." };
        var command = new Command("import", "Add or replace rates; a running server uses them within 10 s. Events already stored keep the rate they were given.") { data, file };
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
            var database = HubDatabase.Open(parse.GetValue(data)!);
            using var connection = database.Connect();
            new FxRateTable().Save(connection, rates);
            Console.WriteLine($"Imported {rates.Count:N0} rates for {rates.Select(r => r.Currency).Distinct().Count()} currencies.");
            return 0;
        });
        return command;
    }

    private static Command ListCommand()
    {
        var data = CommonOptions.Data();
        var command = new Command("list", "Show the stored rates.") { data };
        command.SetAction(parse =>
        {
            using var connection = HubDatabase.Open(parse.GetValue(data)!).Connect();
            var table = new Table().AddColumns("day", "currency", "rate");
            foreach (var (day, currency, rate) in FxRateTable.Load(connection).All())
            {
                table.AddRow(day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), currency, rate.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
