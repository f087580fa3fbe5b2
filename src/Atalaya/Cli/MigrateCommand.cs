using System.CommandLine;
using Atalaya.Engine.Cluster;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary><c>atalaya migrate --to-cluster</c>: moves an embedded data folder's events to a cluster, resumably (docs/scale-out.md).</summary>
public static class MigrateCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var toCluster = new Option<bool>("--to-cluster") { Description = "Publish every event of the data folder to the cluster's queue (resumable: run it again after an interruption)." };
        var clickHouse = new Option<string>("--clickhouse") { Description = "The cluster's ClickHouse HTTP interface, as given to its serve nodes.", HelpName = "URL", Required = true };
        var rabbitMq = new Option<string>("--rabbitmq") { Description = "The cluster's RabbitMQ broker, as given to its serve nodes.", HelpName = "URI", Required = true };
        var queueShards = new Option<int>("--queue-shards") { Description = "The cluster's number of shard queues (as its serve nodes).", DefaultValueFactory = _ => 4, HelpName = "N" };
        var command = new Command("migrate", "Move an embedded data folder's events to a cluster (ClickHouse + RabbitMQ); the cluster's serve nodes write them.")
        {
            data, toCluster, clickHouse, rabbitMq, queueShards,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (!parse.GetValue(toCluster))
            {
                return CommonOptions.Fail("say where to: --to-cluster (the only migration so far).");
            }
            var directory = parse.GetValue(data)!;
            if (!File.Exists(Path.Combine(directory, Engine.Storage.HubDatabase.FileName)))
            {
                return CommonOptions.Fail($"{directory} holds no hub (no {Engine.Storage.HubDatabase.FileName}); point --data at the embedded hub's folder.");
            }
            ClusterNode target;
            try
            {
                target = ClusterNode.Create(parse.GetValue(clickHouse)!, parse.GetValue(rabbitMq)!, parse.GetValue(queueShards));
            }
            catch (ArgumentException e)
            {
                return CommonOptions.Fail(e.Message);
            }
            await using (target)
            {
                var remaining = ClusterMigration.Remaining(directory, target);
                if (remaining == 0)
                {
                    Console.WriteLine("Nothing to migrate: every event of this folder was published to that cluster already.");
                    return 0;
                }
                long published = 0;
                try
                {
                    await AnsiConsole.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                        .StartAsync(async progress =>
                        {
                            var task = progress.AddTask($"Publishing {remaining:N0} events", maxValue: remaining);
                            published = await new ClusterMigration().RunAsync(directory, target, n => task.Value = n, ct);
                            task.Value = task.MaxValue;
                        });
                }
                catch (Engine.Storage.StoreUnavailableException e)
                {
                    return CommonOptions.Fail($"{e.Message}. The events confirmed so far are recorded in {ClusterMigration.CheckpointFile}; run the same command again to go on.");
                }
                Console.WriteLine($"Published {published:N0} events to the cluster's queue; its serve nodes write them into ClickHouse (watch atalaya_cluster_events_written_total on /metrics).");
                return 0;
            }
        });
        return command;
    }
}
