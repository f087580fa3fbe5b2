using System.CommandLine;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Config;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Atalaya.Engine.Webhooks;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya webhooks replay [--id N]</c>: maps the stored bodies of open webhook dead letters
/// again (after a catalog or mapping fix) and puts them through validation and dedupe; with
/// <c>--postgres --clickhouse --rabbitmq</c>, a cluster's (any node's) into the cluster's queue.
/// </summary>
public static class WebhooksCommand
{
    public static Command Create()
    {
        var command = new Command("webhooks", "Inbound provider webhooks (POST /api/webhooks/PROVIDER).");
        command.Add(ReplayCommand());
        return command;
    }

    private static Command ReplayCommand()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var id = new Option<long?>("--id") { Description = "Only this dead letter (see `atalaya connectors dead-letters`).", HelpName = "N" };
        var postgres = CommonOptions.Postgres("Replay a cluster's webhook dead letters (with --clickhouse and --rabbitmq, where their events go), kept");
        var clickHouse = new Option<string?>("--clickhouse") { Description = "With --postgres: the cluster's ClickHouse HTTP interface, as given to its serve nodes.", HelpName = "URL" };
        var rabbitMq = new Option<string?>("--rabbitmq") { Description = "With --postgres: the cluster's RabbitMQ broker, as given to its serve nodes.", HelpName = "URI" };
        var queueShards = new Option<int>("--queue-shards") { Description = "With --postgres: the cluster's number of shard queues (as its serve nodes).", DefaultValueFactory = _ => 4, HelpName = "N" };
        var replay = new Command("replay", "Map the stored bodies of open webhook dead letters again; exit code 1 when some still fail.")
        {
            id, data, environment, configDirectory, postgres, clickHouse, rabbitMq, queueShards,
        };
        replay.SetAction(async (parse, ct) =>
        {
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            var onCluster = parse.GetValue(clickHouse) is not null || parse.GetValue(rabbitMq) is not null;
            if (parse.GetValue(postgres) is null && onCluster)
            {
                return CommonOptions.Fail("--clickhouse and --rabbitmq say where a cluster's replayed events go; the cluster's dead letters are in its PostgreSQL: add --postgres (docs/scale-out.md).");
            }
            if (parse.GetValue(postgres) is not null && (parse.GetValue(clickHouse) is null || parse.GetValue(rabbitMq) is null))
            {
                return CommonOptions.Fail("a cluster's replayed webhook events go to its queue: with --postgres give --clickhouse URL and --rabbitmq URI as to its serve nodes (docs/scale-out.md).");
            }
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            ClusterNode? cluster = null;
            if (shared is not null)
            {
                try
                {
                    cluster = ClusterNode.Create(parse.GetValue(clickHouse)!, parse.GetValue(rabbitMq)!, parse.GetValue(queueShards));
                }
                catch (ArgumentException e)
                {
                    return CommonOptions.Fail(e.Message);
                }
            }
            await using (cluster)
            {
                try
                {
                    return await ReplayAsync(parse.GetValue(data)!, config, shared, cluster, parse.GetValue(id), ct);
                }
                catch (StateUnavailableException e)
                {
                    return CommonOptions.Fail($"--postgres: {e.Message}; try again once it is back.");
                }
            }
        });
        return replay;
    }

    /// <summary>Replays the open webhook dead letters; on a cluster (<paramref name="cluster"/>) their events are published to its queue, enriched with its stores.</summary>
    private static async Task<int> ReplayAsync(string dataDirectory, EnvironmentConfig config, PostgresState? shared, ClusterNode? cluster, long? letterId, CancellationToken ct)
    {
        await using var hub = Hub.Open(dataDirectory, cluster: cluster, postgres: shared);
        if (letterId is { } wanted && !ConnectorRows.For(hub.Database, shared).DeadLetters("webhook").Any(l => l.Id == wanted))
        {
            return CommonOptions.Fail($"--id {wanted}: no open webhook dead letter has this id; see `atalaya connectors dead-letters`");
        }
        if (cluster is not null)
        {
            try
            {
                await cluster.LoadStoresAsync(hub.Log.Stores, ct);
            }
            catch (InvalidOperationException e)
            {
                return CommonOptions.Fail($"--clickhouse: {e.Message}; nothing was replayed. Check the URL, or start the server.");
            }
        }
        IReadOnlyList<(DeadLetter Letter, WebhookOutcome Outcome)> results;
        try
        {
            results = await new WebhookReceiver(hub.Pipeline, hub.Database, config, TimeProvider.System, shared).ReplayAsync(letterId, ct);
        }
        catch (StoreUnavailableException e)
        {
            Console.Error.WriteLine($"error: {e.Message}; the dead letters not replayed stay open, run the command again once it is back.");
            return 1;
        }
        if (results.Count == 0)
        {
            Console.WriteLine("No open webhook dead letter to replay.");
            return 0;
        }
        foreach (var (letter, outcome) in results)
        {
            Console.WriteLine($"dead letter {letter.Id.ToString(CultureInfo.InvariantCulture)} ({letter.Provider}): {outcome.State ?? "skipped"} — {outcome.Message}");
        }
        return results.All(r => r.Outcome.State == "mapped") ? 0 : 1;
    }
}
