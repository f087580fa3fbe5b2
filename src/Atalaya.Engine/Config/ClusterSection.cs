namespace Atalaya.Engine.Config;

/// <summary>
/// <c>cluster:</c> in an environment file: what <c>serve --clickhouse --rabbitmq --postgres
/// --queue-shards --role</c> say, so that every node of an environment starts from one file
/// (docs/scale-out.md, "In the environment file"). The options on the command line win. A URL or
/// connection string with a password is a secret: it comes from an environment variable named by
/// the <c>…_env</c> key, never from this file.
/// </summary>
public sealed class ClusterSection
{
    /// <summary>ClickHouse's HTTP interface with the database as its path, e.g. http://127.0.0.1:8123/atalaya.</summary>
    public string Clickhouse { get; set; } = "";

    /// <summary>The environment variable holding the ClickHouse URL (when it carries a password).</summary>
    public string ClickhouseEnv { get; set; } = "";

    /// <summary>The RabbitMQ URI without a password is rare: guest works on loopback only.</summary>
    public string Rabbitmq { get; set; } = "";

    public string RabbitmqEnv { get; set; } = "";

    /// <summary>PostgreSQL keywords (Host=…;Database=…), without Password.</summary>
    public string Postgres { get; set; } = "";

    public string PostgresEnv { get; set; } = "";

    /// <summary>Shard queues; every node of a cluster must use the same number.</summary>
    public int QueueShards { get; set; } = 4;

    /// <summary>all, collect or answer (docs/scale-out.md, "Node roles").</summary>
    public string Role { get; set; } = "all";

    /// <summary>Whether the section makes this process a cluster node.</summary>
    public bool Configured => Clickhouse.Length > 0 || ClickhouseEnv.Length > 0 || Rabbitmq.Length > 0 || RabbitmqEnv.Length > 0;

    /// <summary>The ClickHouse URL, read from its variable when named; null when not configured.</summary>
    public string? ClickHouseUrl() => Value(Clickhouse, ClickhouseEnv);

    public string? RabbitMqUri() => Value(Rabbitmq, RabbitmqEnv);

    public string? PostgresConnection() => Value(Postgres, PostgresEnv);

    /// <summary>The <c>…_env</c> keys whose variable is not set, for the start's error message.</summary>
    public IEnumerable<string> UnsetVariables() =>
        new[] { ("clickhouse_env", ClickhouseEnv), ("rabbitmq_env", RabbitmqEnv), ("postgres_env", PostgresEnv) }
            .Where(p => p.Item2.Length > 0 && string.IsNullOrEmpty(System.Environment.GetEnvironmentVariable(p.Item2)))
            .Select(p => $"cluster.{p.Item1} names {p.Item2}, which is not set");

    private static string? Value(string inline, string variable) =>
        inline.Length > 0 ? inline
        : variable.Length > 0 ? System.Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : null
        : null;

    internal void Validate(List<string> problems)
    {
        Pair(problems, "clickhouse", Clickhouse, ClickhouseEnv, UrlHasPassword);
        Pair(problems, "rabbitmq", Rabbitmq, RabbitmqEnv, UrlHasPassword);
        Pair(problems, "postgres", Postgres, PostgresEnv, KeywordsHavePassword);
        var clickHouse = Clickhouse.Length > 0 || ClickhouseEnv.Length > 0;
        var rabbitMq = Rabbitmq.Length > 0 || RabbitmqEnv.Length > 0;
        if (clickHouse != rabbitMq)
        {
            problems.Add("cluster: a cluster node needs both clickhouse and rabbitmq (or their _env keys); give both, or neither for the embedded hub");
        }
        if (!clickHouse && (Postgres.Length > 0 || PostgresEnv.Length > 0))
        {
            problems.Add("cluster.postgres: holds the state cluster nodes share, so it goes with clickhouse and rabbitmq");
        }
        if (QueueShards is < 1 or > 1024)
        {
            problems.Add($"cluster.queue_shards: must be 1 to 1024, got {QueueShards}");
        }
        if (Role is not ("all" or "collect" or "answer"))
        {
            problems.Add($"cluster.role: must be all, collect or answer, got '{Role}'");
        }
        else if (Role != "all" && !clickHouse)
        {
            problems.Add($"cluster.role: {Role} splits the work of cluster nodes, so it goes with clickhouse and rabbitmq");
        }
    }

    private static void Pair(List<string> problems, string key, string inline, string variable, Func<string, bool> hasPassword)
    {
        if (inline.Length > 0 && variable.Length > 0)
        {
            problems.Add($"cluster.{key}: give {key} or {key}_env, not both");
        }
        else if (inline.Length > 0 && hasPassword(inline))
        {
            problems.Add($"cluster.{key}: holds a password, a secret this file must not keep; put the value in an environment variable and name it in {key}_env");
        }
    }

    /// <summary>Whether a URL carries a password; RabbitMQ's <c>guest:guest</c> is no secret (the broker accepts it from loopback only).</summary>
    private static bool UrlHasPassword(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Contains(':', StringComparison.Ordinal) && uri.UserInfo != "guest:guest";

    private static bool KeywordsHavePassword(string connection) =>
        connection.Split(';').Any(part => part.Split('=', 2)[0].Trim().Equals("password", StringComparison.OrdinalIgnoreCase)
            || part.Split('=', 2)[0].Trim().Equals("pwd", StringComparison.OrdinalIgnoreCase));
}
