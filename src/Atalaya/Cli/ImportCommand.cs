using System.CommandLine;
using System.IO.Compression;
using Atalaya.Engine;
using Atalaya.Engine.Collect;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary><c>atalaya import FILE</c>: bulk-load NDJSON events through validation and dedupe.</summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var file = new Argument<FileInfo>("FILE") { Description = "NDJSON file of native events (.gz accepted), or - for standard input." };
        var source = new Option<string>("--source") { Description = "Source system recorded on the events.", DefaultValueFactory = _ => "import", HelpName = "NAME" };
        var command = new Command("import", "Bulk load NDJSON events through the same validation and dedupe as the collector.") { data, file, source };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            var fromStdin = path.Name == "-";
            if (!fromStdin && !path.Exists)
            {
                return CommonOptions.Fail($"no such file: {path.FullName}");
            }
            await using var hub = Hub.Open(parse.GetValue(data)!);
            await using var raw = fromStdin ? Console.OpenStandardInput() : path.OpenRead();
            Stream input = path.Name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(raw, CompressionMode.Decompress) : raw;
            var total = fromStdin ? 0 : path.Length;
            var started = System.Diagnostics.Stopwatch.StartNew();
            ImportSummary? summary = null;
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Importing {Markup.Escape(path.Name)}", maxValue: Math.Max(1, total));
                    // Progress counts bytes of the (possibly compressed) file read so far.
                    summary = await NdjsonImporter.ImportAsync(hub.Pipeline, input, parse.GetValue(source)!,
                        _ => task.Value = fromStdin ? 0 : raw.Position, ct);
                    task.Value = task.MaxValue;
                });
            var s = summary!;
            Console.WriteLine($"Imported {s.Accepted:N0} events ({s.Duplicates:N0} duplicates skipped, {s.Rejected:N0} rejected) in {started.Elapsed.TotalSeconds:F1} s.");
            foreach (var error in s.FirstErrors)
            {
                Console.WriteLine($"  rejected {error}");
            }
            if (input != raw)
            {
                await input.DisposeAsync();
            }
            return s.Rejected > 0 && s.Accepted == 0 && s.Duplicates == 0 ? 1 : 0;
        });
        return command;
    }
}
