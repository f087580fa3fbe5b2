using System.Diagnostics;
using System.Globalization;

namespace Atalaya.Bench.ClusterQuery;

/// <summary>
/// ClickHouse and RabbitMQ started by <c>scripts/services.sh</c> in a state folder of this run's own,
/// so that stopping them at the end never stops a server another benchmark or test run is using.
/// </summary>
public sealed class ClusterServices : IDisposable
{
    private readonly string _repository;
    private readonly string _state;
    private readonly List<string> _started = [];

    public ClusterServices(string repository, string state)
    {
        _repository = repository;
        _state = state;
    }

    public string ClickHouseUrl { get; private set; } = "";

    public string RabbitMqUri { get; private set; } = "";

    public void Start()
    {
        ClickHouseUrl = Start("clickhouse", "CLICKHOUSE_HTTP=");
        RabbitMqUri = Start("rabbitmq", "RABBITMQ_URI=");
    }

    private string Start(string name, string prefix)
    {
        // Recorded before the start: a start that failed half way may still have left a server running.
        _started.Add(name);
        var (code, output) = Services("start", name);
        return code == 0 && output.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line
            ? line[prefix.Length..].Trim()
            : throw new InvalidOperationException($"scripts/services.sh start {name} failed (exit {code}):\n{output}");
    }

    /// <summary>Stops what this run started, the last first, and deletes their data.</summary>
    public void Dispose()
    {
        // Once only, whether from the end of the run or from Ctrl+C.
        lock (_started)
        {
            StopAll();
        }
    }

    private void StopAll()
    {
        foreach (var name in Enumerable.Reverse(_started))
        {
            var (code, output) = Services("stop", name);
            if (code != 0)
            {
                Console.WriteLine($"  scripts/services.sh stop {name} failed (exit {code}): {output.Trim()}; stop it by hand with ATALAYA_SERVICES={_state}");
            }
        }
        _started.Clear();
    }

    /// <summary>
    /// The messages the event queues have handed to consumers and not yet had acknowledged
    /// (<c>rabbitmqctl list_queues</c>): what the writers hold from the queues. RabbitMQ refreshes
    /// these figures every few seconds, and gives no byte count for quorum queues. Null when rabbitmqctl fails.
    /// </summary>
    public long? Unacknowledged()
    {
        var (code, output) = Services("ctl", "rabbitmq", "list_queues", "-q", "--no-table-headers", "name", "messages_unacknowledged");
        if (code != 0)
        {
            return null;
        }
        return output.Split('\n')
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 2 && f[0].StartsWith("atalaya.events.", StringComparison.Ordinal))
            .Sum(f => long.TryParse(f[1], CultureInfo.InvariantCulture, out var messages) ? messages : 0);
    }

    private (int Code, string Output) Services(params string[] args)
    {
        var info = new ProcessStartInfo("bash", ["scripts/services.sh", .. args])
        {
            WorkingDirectory = _repository,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ATALAYA_SERVICES"] = _state;
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}
