using System.Net;
using System.Net.Http.Headers;
using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// The environment file's <c>cluster:</c> section (docs/scale-out.md, "In the environment file"):
/// what <c>serve --clickhouse --rabbitmq --postgres --queue-shards --role</c> say, checked at load
/// (secrets refused in the file), used by <c>serve</c> when its options are absent.
/// </summary>
public sealed class ClusterConfigTests(ClusterServers servers) : IClassFixture<ClusterServers>, IDisposable
{
    private static string Shipped => Path.Combine(AppContext.BaseDirectory, "config", "environments");

    private static string Valid => File.ReadAllText(Path.Combine(Shipped, "dev.yaml"));

    private readonly TempDirectory _root = new("atalaya-cluster-config");

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("dev")]
    [InlineData("stg")]
    [InlineData("prod")]
    public void The_shipped_environments_leave_the_cluster_empty_so_serve_runs_the_embedded_hub(string name)
    {
        var cluster = EnvironmentFiles.Load(Shipped, name).Cluster;

        Assert.False(cluster.Configured);
        Assert.Null(cluster.ClickHouseUrl());
        Assert.Equal(4, cluster.QueueShards);
        Assert.Equal("all", cluster.Role);
    }

    [Theory]
    [InlineData("  clickhouse: \"http://atalaya:s3cret@127.0.0.1:8123/atalaya\"\n  rabbitmq: \"amqp://guest:guest@127.0.0.1:5672/\"", "cluster.clickhouse: holds a password")]
    [InlineData("  clickhouse: \"http://127.0.0.1:8123/atalaya\"\n  rabbitmq: \"amqp://atalaya:s3cret@127.0.0.1:5672/\"", "cluster.rabbitmq: holds a password")]
    [InlineData("  clickhouse: \"http://127.0.0.1:8123/a\"\n  rabbitmq: \"amqp://guest:guest@127.0.0.1:5672/\"\n  postgres: \"Host=127.0.0.1;Password=x\"", "cluster.postgres: holds a password")]
    [InlineData("  clickhouse: \"http://127.0.0.1:8123/atalaya\"", "needs both clickhouse and rabbitmq")]
    [InlineData("  postgres: \"Host=127.0.0.1\"", "cluster.postgres: holds the state cluster nodes share")]
    [InlineData("  role: collect", "cluster.role: collect splits the work of cluster nodes")]
    [InlineData("  role: reader", "cluster.role: must be all, collect or answer, got 'reader'")]
    [InlineData("  queue_shards: 0", "cluster.queue_shards: must be 1 to 1024, got 0")]
    [InlineData("  clickhouse: \"http://127.0.0.1:8123/a\"\n  clickhouse_env: CH_URL\n  rabbitmq: \"amqp://guest:guest@127.0.0.1:5672/\"", "give clickhouse or clickhouse_env, not both")]
    public void A_cluster_mistake_or_a_secret_in_the_file_is_named_with_its_key(string section, string message)
    {
        var error = Assert.Throws<ConfigException>(() => EnvironmentFiles.Parse(WithCluster(Valid, section), "config/environments/dev.yaml", "dev"));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_with_a_password_come_from_the_variables_the_file_names()
    {
        var variable = "ATALAYA_TEST_CH_" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable(variable, "http://atalaya:s3cret@127.0.0.1:8123/atalaya");
        try
        {
            var cluster = EnvironmentFiles.Parse(WithCluster(Valid, $"  clickhouse_env: {variable}\n  rabbitmq: \"amqp://guest:guest@127.0.0.1:5672/\"\n  role: answer"), "dev.yaml", "dev").Cluster;

            Assert.True(cluster.Configured);
            Assert.Equal("http://atalaya:s3cret@127.0.0.1:8123/atalaya", cluster.ClickHouseUrl());
            Assert.Equal("amqp://guest:guest@127.0.0.1:5672/", cluster.RabbitMqUri());
            Assert.Empty(cluster.UnsetVariables());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task Serve_takes_the_cluster_from_the_environment_file_and_refuses_a_variable_that_is_not_set()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        var clickHouseUrl = new Uri(servers.ClickHouse.Url, clickHouse.Database).ToString();
        var config = Directory.CreateDirectory(_root["config"]).FullName;
        // An answering node from the file alone: it creates the cluster's tables and refuses events with 421.
        await File.WriteAllTextAsync(Path.Combine(config, "dev.yaml"),
            WithCluster(Valid, $"  clickhouse: \"{clickHouseUrl}\"\n  rabbitmq: \"{servers.Rabbit.Uri}\"\n  role: answer"));
        var data = _root["node"];
        var key = await ClusterData.CreateTokenAsync(data, "write", "--source", "test");
        await using (var node = await ServeProcess.StartAsync(null, "--data", data, "--config", config, "--no-scheduler"))
        {
            using var client = new HttpClient { BaseAddress = new Uri(node.Url), Timeout = TimeSpan.FromSeconds(30) };
            await Wait.UntilAsync(async () =>
            {
                try
                {
                    return await clickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) == 0;
                }
                catch (Engine.ClickHouse.ClickHouseException)
                {
                    return false; // the node has not created the table yet
                }
            }, "the node created the cluster's tables in the file's ClickHouse database", seconds: 60);
            using var post = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
            post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var answer = await client.SendAsync(post);
            Assert.Equal(HttpStatusCode.MisdirectedRequest, answer.StatusCode);
        }

        var unset = "ATALAYA_TEST_UNSET_" + Guid.NewGuid().ToString("N")[..8];
        await File.WriteAllTextAsync(Path.Combine(config, "dev.yaml"),
            WithCluster(Valid, $"  clickhouse_env: {unset}\n  rabbitmq: \"{servers.Rabbit.Uri}\""));
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("serve", "--data", _root["other"], "--config", config);
        Assert.Equal(2, exit);
        Assert.Contains($"cluster.clickhouse_env names {unset}, which is not set", stderr, StringComparison.Ordinal);
    }

    /// <summary>The shipped file with its cluster section's keys replaced by <paramref name="section"/>.</summary>
    private static string WithCluster(string yaml, string section)
    {
        var at = yaml.IndexOf("\ncluster:", StringComparison.Ordinal);
        Assert.True(at > 0, "the shipped file has a cluster section");
        return yaml[..at] + "\ncluster:\n" + section + "\n";
    }
}
