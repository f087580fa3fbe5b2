using System.Diagnostics;
using Atalaya.Engine.Queue;

namespace Atalaya.Tests.Queue;

/// <summary>
/// A real RabbitMQ node for one test class, started by scripts/services.sh (which installs the
/// Debian package when missing) with a state folder of its own, so classes running in parallel
/// each get their own node, ports and data. <see cref="PauseAsync"/> and <see cref="ResumeAsync"/>
/// stop and restart it on the same port and data, for the outage tests.
/// </summary>
public sealed class RabbitBroker : IAsyncLifetime
{
    private readonly string state = Path.Combine(Path.GetTempPath(), "atalaya-rabbit-" + Guid.NewGuid().ToString("N")[..12]);

    public Uri Uri { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var output = await ServicesAsync("start", "rabbitmq");
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RABBITMQ_URI=", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("services.sh start rabbitmq printed no RABBITMQ_URI line:\n" + output);
        Uri = new Uri(line["RABBITMQ_URI=".Length..].Trim());
    }

    public Task PauseAsync() => ServicesAsync("pause", "rabbitmq");

    public Task ResumeAsync() => ServicesAsync("resume", "rabbitmq");

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

    private async Task<string> ServicesAsync(string command, string service)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot(), "scripts", "services.sh"));
        info.ArgumentList.Add(command);
        info.ArgumentList.Add(service);
        info.Environment["ATALAYA_SERVICES"] = state;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"services.sh {command} {service} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }
        return await stdout;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("the repository root (Atalaya.slnx) is not above " + AppContext.BaseDirectory);
    }
}
