using System.CommandLine;
using Atalaya.Engine.Demo;

namespace Atalaya.Cli;

/// <summary><c>atalaya demo</c>: the deterministic marketplace event generator (NDJSON).</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var days = new Option<int>("--days") { Description = "Days of history, ending today (UTC).", DefaultValueFactory = _ => 60, HelpName = "N" };
        var seed = new Option<int>("--seed") { Description = "Random seed; the same seed and end date give the same events.", DefaultValueFactory = _ => 42, HelpName = "S" };
        var end = new Option<DateOnly?>("--end") { Description = "Last day generated (default today, UTC).", HelpName = "DATE" };
        var sessions = new Option<int>("--sessions-per-day") { Description = "Average sessions a day at scale 1 (multiplied by --scale).", DefaultValueFactory = _ => 1200, HelpName = "N" };
        var scale = new Option<int>("--scale")
        {
            Description = "Size of the marketplace: K times the stores per country, the sessions a day and the returning shoppers (--days 120 --sessions-per-day 1930 gives about 1M events at scale 1, about K million at scale K).",
            DefaultValueFactory = _ => 1,
            HelpName = "K",
        };
        var products = new Option<int?>("--products")
        {
            Description = "Size of the whole product catalog, shared out evenly among the stores (e.g. 20000 for a large catalog); default: each store sells 10-30 products.",
            HelpName = "N",
        };
        var output = new Option<FileInfo?>("--out") { Description = "Write to FILE instead of standard output.", HelpName = "FILE" };
        var command = new Command("demo", "Generate deterministic marketplace events as NDJSON (countries MX, CO, CL, SE).")
        {
            days, seed, end, sessions, scale, products, output,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(days) is < 1 or > 3650)
            {
                return CommonOptions.Fail("--days must be between 1 and 3650.");
            }
            if (parse.GetValue(scale) is < 1 or > 1000)
            {
                return CommonOptions.Fail("--scale must be between 1 and 1000.");
            }
            if (parse.GetValue(sessions) < 0)
            {
                return CommonOptions.Fail("--sessions-per-day must not be negative.");
            }
            if (parse.GetValue(products) is < 1 or > 10_000_000)
            {
                return CommonOptions.Fail("--products must be between 1 and 10000000.");
            }
            var options = new DemoOptions(parse.GetValue(days), parse.GetValue(seed), parse.GetValue(end), parse.GetValue(sessions), parse.GetValue(scale),
                Products: parse.GetValue(products));
            var file = parse.GetValue(output);
            using var stream = file is null ? Console.OpenStandardOutput() : file.Create();
            var count = DemoGenerator.WriteNdjson(options, stream);
            if (file is not null)
            {
                Console.Error.WriteLine($"Wrote {count:N0} events to {file.FullName}.");
            }
            return 0;
        });
        return command;
    }
}
