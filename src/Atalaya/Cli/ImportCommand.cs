using System.CommandLine;
using System.IO.Compression;
using Atalaya.Engine;
using Atalaya.Engine.Collect;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya import FILE</c>: bulk-load NDJSON events through validation and dedupe, into the data
/// folder or, with <c>--clickhouse</c> and <c>--rabbitmq</c>, into a cluster's queue as a collector
/// would (its serve nodes' writers insert them into ClickHouse).
/// </summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var file = new Argument<FileInfo>("FILE") { Description = "NDJSON file of native events (.gz accepted), or - for standard input." };
        var source = new Option<string>("--source") { Description = "Source system recorded on the events.", DefaultValueFactory = _ => "import", HelpName = "NAME" };
        var target = new ClusterTarget(
            "import into a cluster; ids ClickHouse already holds are skipped as duplicates and the events' stores are looked up there",
            "where the events are published with confirms (its serve nodes' writers insert them)",
            "On a cluster (with --clickhouse and --rabbitmq): use the cluster's exchange rates, and keep the refused events with every node's,");
        var command = new Command("import", "Bulk load NDJSON events through the same validation and dedupe as the collector.")
        {
            data, file, source,
        };
        target.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            var fromStdin = path.Name == "-";
            if (!fromStdin && !path.Exists)
            {
                return CommonOptions.Fail($"no such file: {path.FullName}");
            }
            return await target.RunAsync(parse, parse.GetValue(data)!, hub => ImportAsync(hub, path, parse.GetValue(source)!, ct));
        });
        return command;
    }

    private static async Task<int> ImportAsync(Hub hub, FileInfo path, string source, CancellationToken ct)
    {
        var cluster = hub.Cluster;
        if (cluster is not null)
        {
            // Events that name only their store get its country, hub and zone as on every node.
            try
            {
                await cluster.LoadStoresAsync(hub.Log.Stores, ct);
            }
            catch (InvalidOperationException e)
            {
                return CommonOptions.Fail($"--clickhouse: {e.Message}; nothing was imported. Check the URL, or start the server.");
            }
        }
        var fromStdin = path.Name == "-";
        await using var raw = fromStdin ? Console.OpenStandardInput() : path.OpenRead();
        await using var input = path.Name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true) : raw;
        var total = fromStdin ? 0 : path.Length;
        var started = System.Diagnostics.Stopwatch.StartNew();
        ImportSummary? summary = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask($"Importing {Markup.Escape(path.Name)}", maxValue: Math.Max(1, total));
                // Progress counts bytes of the (possibly compressed) file read so far.
                summary = await NdjsonImporter.ImportAsync(hub.Pipeline, input, source, _ => task.Value = fromStdin ? 0 : raw.Position, ct);
                task.Value = task.MaxValue;
            });
        var s = summary!;
        var where = cluster is null ? "" : ", into the cluster's queue: its serve nodes' writers insert them into ClickHouse";
        Console.WriteLine($"Imported {s.Accepted:N0} events ({s.Duplicates:N0} duplicates skipped, {s.Rejected:N0} rejected) in {started.Elapsed.TotalSeconds:F1} s{where}.");
        foreach (var error in s.FirstErrors)
        {
            Console.WriteLine($"  rejected {error}");
        }
        if (s.Stopped is { } why)
        {
            return CommonOptions.Fail($"stopped at line {s.StoppedAtLine:N0}: {why}. The events before it are kept; run the same import again once that is fixed: "
                + "what was kept is skipped as duplicates, the rest is taken.");
        }
        return s.Rejected > 0 && s.Accepted == 0 && s.Duplicates == 0 ? 1 : 0;
    }
}
