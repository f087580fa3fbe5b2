using System.CommandLine;
using Atalaya.Engine;

namespace Atalaya.Cli;

/// <summary>
/// The cluster a command publishes to or rewrites, as a node would (<c>import</c>, <c>privacy</c>):
/// <c>--clickhouse</c> and <c>--rabbitmq</c> (both or neither), <c>--queue-shards</c>, and
/// <c>--postgres</c> (only with the other two). Without them the command works on the data folder.
/// </summary>
/// <param name="clickHouseUse">What the command does with ClickHouse, for its help.</param>
/// <param name="rabbitMqUse">What it does with RabbitMQ.</param>
/// <param name="postgresUse">What it keeps in PostgreSQL.</param>
internal sealed class ClusterTarget(string clickHouseUse, string rabbitMqUse, string postgresUse)
{
    public Option<string?> ClickHouse { get; } = new("--clickhouse")
    {
        Description = $"With --rabbitmq: {clickHouseUse}, as given to its serve nodes.",
        HelpName = "URL",
    };

    public Option<string?> RabbitMq { get; } = new("--rabbitmq")
    {
        Description = $"With --clickhouse: the cluster's RabbitMQ, {rabbitMqUse}.",
        HelpName = "URI",
    };

    public Option<int> Shards { get; } = new("--queue-shards") { Description = "The cluster's number of shard queues (as its serve nodes).", DefaultValueFactory = _ => 4, HelpName = "N" };

    public Option<string?> Postgres { get; } = CommonOptions.Postgres(postgresUse);

    /// <summary>When set, a cluster without <c>--postgres</c> is refused with this message (the work needs the shared state).</summary>
    public string? PostgresNeededFor { get; init; }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { ClickHouse, RabbitMq, Shards, Postgres })
        {
            command.Add(option);
        }
    }

    /// <summary>
    /// Opens the hub the command works on (the data folder's, or a cluster's through it: its node in
    /// the collecting role, which follows no feed) and runs <paramref name="work"/>; 2 after saying
    /// what is wrong with the options or a server.
    /// </summary>
    public async Task<int> RunAsync(ParseResult parse, string dataDirectory, Func<Hub, Task<int>> work)
    {
        var (clickHouse, rabbitMq, postgres) = (parse.GetValue(ClickHouse), parse.GetValue(RabbitMq), parse.GetValue(Postgres));
        if ((clickHouse is null) != (rabbitMq is null))
        {
            return CommonOptions.Fail("on a cluster give both --clickhouse URL and --rabbitmq URI, as given to its serve nodes (docs/scale-out.md)");
        }
        if (postgres is not null && clickHouse is null)
        {
            return CommonOptions.Fail("--postgres: a cluster's events are in ClickHouse and go through its queue; add --clickhouse URL and --rabbitmq URI, as given to its serve nodes (docs/scale-out.md)");
        }
        if (PostgresNeededFor is { } why && clickHouse is not null && postgres is null)
        {
            return CommonOptions.Fail(why);
        }
        Engine.Cluster.ClusterNode? cluster = null;
        if (clickHouse is not null)
        {
            try
            {
                cluster = Engine.Cluster.ClusterNode.Create(clickHouse, rabbitMq!, parse.GetValue(Shards), Engine.Cluster.ClusterRole.Collect);
            }
            catch (ArgumentException e)
            {
                return CommonOptions.Fail(e.Message);
            }
        }
        using var shared = postgres is null ? null : CommonOptions.OpenPostgres(postgres);
        if (postgres is not null && shared is null)
        {
            return 2;
        }
        await using (cluster)
        {
            await using var hub = Hub.Open(dataDirectory, cluster: cluster, postgres: shared);
            try
            {
                return await work(hub);
            }
            catch (Engine.Postgres.StateUnavailableException e)
            {
                return CommonOptions.Fail($"{e.Message}; nothing was lost, run the same command again once it is back.");
            }
        }
    }
}
