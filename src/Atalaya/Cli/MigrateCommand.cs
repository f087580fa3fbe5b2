using System.CommandLine;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Postgres;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary><c>atalaya migrate --to-cluster</c>: moves an embedded data folder's events, and with <c>--postgres</c> its shared state, to a cluster, resumably (docs/scale-out.md).</summary>
public static class MigrateCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var toCluster = new Option<bool>("--to-cluster") { Description = "Publish every event of the data folder to the cluster's queue (resumable: run it again after an interruption)." };
        var clickHouse = new Option<string>("--clickhouse") { Description = "The cluster's ClickHouse HTTP interface, as given to its serve nodes.", HelpName = "URL", Required = true };
        var rabbitMq = new Option<string>("--rabbitmq") { Description = "The cluster's RabbitMQ broker, as given to its serve nodes.", HelpName = "URI", Required = true };
        var queueShards = new Option<int>("--queue-shards") { Description = "The cluster's number of shard queues (as its serve nodes).", DefaultValueFactory = _ => 4, HelpName = "N" };
        var postgres = new Option<string?>("--postgres")
        {
            Description = "The cluster's PostgreSQL, as given to its serve nodes: also copy the folder's tokens, runs, audit log, alerts, reports, quality findings, "
                + "refused events, connector pages and figures, webhook bodies and dead letters there (resumable; rows already there are not copied twice). "
                + "e.g. \"Host=127.0.0.1;Port=5432;Username=atalaya;Password=…;Database=atalaya\".",
            HelpName = "CONNSTRING",
        };
        var command = new Command("migrate", "Move an embedded data folder's events (and with --postgres its shared state) to a cluster; the cluster's serve nodes write the events. Safe to run again.")
        {
            data, toCluster, clickHouse, rabbitMq, queueShards, postgres,
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
                var stateExit = 0;
                if (parse.GetValue(postgres) is { } connectionString)
                {
                    using var shared = CommonOptions.OpenPostgres(connectionString);
                    if (shared is null)
                    {
                        return 2;
                    }
                    stateExit = await MigrateStateAsync(directory, shared, ct);
                    if (stateExit == 2)
                    {
                        return 2;
                    }
                }
                else
                {
                    Console.WriteLine("Without --postgres only the events move: the folder's tokens, runs, audit log, alerts, reports, quality findings, refused events, "
                        + "connector pages, webhook bodies, dead letters and exchange rates stay in it (give --postgres CONNSTRING, as to the serve nodes, to copy them too).");
                }
                var remaining = ClusterMigration.Remaining(directory, target);
                if (remaining == 0)
                {
                    Console.WriteLine("Events: nothing to migrate, every event of this folder was published to that cluster already.");
                    return stateExit;
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
                return stateExit;
            }
        });
        return command;
    }

    /// <summary>Copies the folder's shared state into PostgreSQL, a progress bar per table; 0, 1 (conflicts left, everything else copied) or 2 (PostgreSQL went away).</summary>
    private static async Task<int> MigrateStateAsync(string directory, PostgresState shared, CancellationToken ct)
    {
        var migration = new StateMigration(directory, shared);
        var outcomes = new List<TableOutcome>();
        try
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .StartAsync(progress =>
                {
                    var tasks = StateMigration.Plan(directory).Select(t => (t.Table, Task: progress.AddTask($"{t.Table} ({t.Rows:N0} rows)", maxValue: Math.Max(1, t.Rows)))).ToList();
                    foreach (var (table, task) in tasks)
                    {
                        outcomes.Add(migration.Copy(table, n => task.Value = Math.Min(n, task.MaxValue), ct));
                        task.Value = task.MaxValue;
                    }
                    return Task.CompletedTask;
                });
        }
        catch (StateUnavailableException e)
        {
            return CommonOptions.Fail($"--postgres: {e.Message}. What was copied is committed; start the server (or check Host and Port) and run the same command again to go on.");
        }
        catch (StateMigrationException e)
        {
            return CommonOptions.Fail($"--postgres: {e.Message}. Run the same command again once that is fixed: it goes on from there.");
        }
        foreach (var outcome in outcomes)
        {
            var audit = outcome.KeptInFolder
                ? " (PostgreSQL has an audit chain of its own: the folder's stays in the folder, and one entry in PostgreSQL's names it and its head hash)"
                : "";
            Console.WriteLine($"{outcome.Table}: {outcome.Rows:N0} rows, {outcome.Copied:N0} copied, {outcome.AlreadyThere:N0} there already{audit}.");
        }
        Console.WriteLine("Not copied: the marts and the event KPIs of fact_kpi_daily (a node's daily_batch rebuilds them from the events, "
            + "POST /api/jobs/backfill/run?start_date=…&end_date=… on a node for older days; the connectors' figures were copied), "
            + "the data-quality profile (the nodes count the cluster's events), pending erasures (listed below if any). Alert rules and report schedules live in the environment files: give the nodes the same --config.");
        var conflicts = outcomes.SelectMany(o => o.Conflicts).ToList();
        if (conflicts.Count == 0)
        {
            return 0;
        }
        foreach (var conflict in conflicts)
        {
            Console.Error.WriteLine($"conflict: {conflict.Table} {conflict.Key}: {conflict.Problem}.");
        }
        Console.Error.WriteLine($"error: {conflicts.Count:N0} rows were not copied, PostgreSQL's rows were kept (everything else was copied). "
            + "Compare each with the folder's; to keep the folder's, delete PostgreSQL's row (or revoke and recreate the token) and run the same command again.");
        return 1;
    }
}
