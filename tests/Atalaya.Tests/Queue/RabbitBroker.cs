using Atalaya.Engine.Queue;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Queue;

/// <summary>
/// A real RabbitMQ node for one test class, started by scripts/services.sh with a state folder of its own, so classes running in parallel
/// each get their own node, ports and data. <see cref="PauseAsync"/> and <see cref="ResumeAsync"/>
/// stop and restart it on the same port and data, for the outage tests.
/// </summary>
public sealed class RabbitBroker : IAsyncLifetime
{
    private readonly string state = ServicesScript.NewStateFolder("rabbitmq");

    public Uri Uri { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Uri = new Uri(ServicesScript.Value(await ServicesAsync("start", "rabbitmq"), "RABBITMQ_URI"));
    }

    public Task PauseAsync() => ServicesAsync("pause", "rabbitmq");

    public Task ResumeAsync() => ServicesAsync("resume", "rabbitmq");

    /// <summary>rabbitmqctl against this node.</summary>
    public Task<string> CtlAsync(params string[] arguments) => ServicesScript.RunAsync(state, "ctl", "rabbitmq", arguments);

    public async Task DisposeAsync()
    {
        await ServicesAsync("stop", "rabbitmq");
        Directory.Delete(state, recursive: true);
    }

    /// <summary>Options for one test: its own queue names on this broker, small timeouts.</summary>
    internal EventQueueOptions Options(int shards = 2) => new()
    {
        Broker = Uri,
        Shards = shards,
        Prefix = "test." + Guid.NewGuid().ToString("N")[..10],
        BatchWait = TimeSpan.FromMilliseconds(50),
        RedeliveryDelay = TimeSpan.FromMilliseconds(10),
        ConfirmTimeout = TimeSpan.FromSeconds(5),
    };

    internal Task<QueueProbe> ProbeAsync() => QueueProbe.OpenAsync(Uri);

    private Task<string> ServicesAsync(string command, string service) => ServicesScript.RunAsync(state, command, service);
}
