using System.CommandLine;
using System.IO.Compression;
using Atalaya.Engine;
using Atalaya.Engine.Cluster;
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
        var clickHouse = new Option<string?>("--clickhouse")
        {
            Description = "With --rabbitmq: import into a cluster, as given to its serve nodes; ids ClickHouse already holds are skipped as duplicates and the events' stores are looked up there.",
            HelpName = "URL",
        };
        var rabbitMq = new Option<string?>("--rabbitmq")
        {
            Description = "With --clickhouse: the cluster's RabbitMQ, where the events are published with confirms (its serve nodes' writers insert them).",
            HelpName = "URI",
        };
        var queueShards = new Option<int>("--queue-shards") { Description = "With --rabbitmq: the cluster's number of shard queues (as its serve nodes).", DefaultValueFactory = _ => 4, HelpName = "N" };
        var postgres = CommonOptions.Postgres("On a cluster (with --clickhouse and --rabbitmq): use the cluster's exchange rates, and keep the refused events with every node's,");
        var command = new Command("import", "Bulk load NDJSON events through the same validation and dedupe as the collector.")
        {
            data, file, source, clickHouse, rabbitMq, queueShards, postgres,
        };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            var fromStdin = path.Name == "-";
            if (!fromStdin && !path.Exists)
            {
                return CommonOptions.Fail($"no such file: {path.FullName}");
            }
            if ((parse.GetValue(clickHouse) is null) != (parse.GetValue(rabbitMq) is null))
            {
                return CommonOptions.Fail("a cluster import publishes to the cluster's RabbitMQ and looks duplicates up in its ClickHouse: give both --clickhouse URL and --rabbitmq URI, as to its serve nodes (docs/scale-out.md)");
            }
            if (parse.GetValue(postgres) is not null && parse.GetValue(clickHouse) is null)
            {
                return CommonOptions.Fail("--postgres: the events of a cluster go to its queue; add --clickhouse URL and --rabbitmq URI, as given to its serve nodes (docs/scale-out.md)");
            }
            ClusterNode? cluster = null;
            if (parse.GetValue(clickHouse) is { } url)
            {
                try
                {
                    cluster = ClusterNode.Create(url, parse.GetValue(rabbitMq)!, parse.GetValue(queueShards), ClusterRole.Collect);
                }
                catch (ArgumentException e)
                {
                    return CommonOptions.Fail(e.Message);
                }
            }
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            await using (cluster)
            {
                return await ImportAsync(parse.GetValue(data)!, path, parse.GetValue(source)!, cluster, shared, ct);
            }
        });
        return command;
    }

    private static async Task<int> ImportAsync(string dataDirectory, FileInfo path, string source, ClusterNode? cluster, Engine.Postgres.PostgresState? shared, CancellationToken ct)
    {
        await using var hub = Hub.Open(dataDirectory, cluster: cluster, postgres: shared);
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
