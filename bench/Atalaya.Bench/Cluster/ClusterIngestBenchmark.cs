using System.Diagnostics;
using System.Globalization;

namespace Atalaya.Bench.Cluster;

/// <summary>
/// Ingest on a cluster node (docs/scale-out.md): one <c>atalaya serve --clickhouse --rabbitmq</c>
/// process on a ClickHouse and a RabbitMQ node started by scripts/services.sh, posted the ingest
/// benchmark's events (varied user agents, items). Reports the acknowledged rate (each request
/// answered after RabbitMQ's publisher confirms) and the rate until every event is in ClickHouse.
/// </summary>
public static class ClusterIngestBenchmark
{
    private const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- cluster-ingest [options]

          --events N          events to send (default 1000000)
          --batch N           events per request (default 5000)
          --connections N     concurrent clients (default 4)
          --role ROLE         the node's serve --role: all (collects, writes and keeps the KPI
                              projection) or collect (collects and writes only) (default all)
          --out FILE          write the cluster ingest section into FILE (e.g. docs/benchmarks.md)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        int events = 1_000_000, batch = 5_000, connections = 4;
        string? output = null;
        var role = "all";
        for (var i = 1; i < args.Length; i++)
        {
            var ok = i + 1 < args.Length && args[i] switch
            {
                "--events" => int.TryParse(args[++i], CultureInfo.InvariantCulture, out events) && events > 0,
                "--batch" => int.TryParse(args[++i], CultureInfo.InvariantCulture, out batch) && batch > 0,
                "--connections" => int.TryParse(args[++i], CultureInfo.InvariantCulture, out connections) && connections > 0,
                "--out" => (output = args[++i]) is not null,
                "--role" => (role = args[++i]) is "all" or "collect",
                _ => false,
            };
            if (!ok)
            {
                Console.WriteLine(Usage);
                return args[i] is "--help" or "-h" ? 0 : 2;
            }
        }
        var repository = Repository.Root();
        using var printed = output is null ? null : new PrintedSection();
        var state = Path.Combine(Path.GetTempPath(), "atalaya-cluster-bench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var clickHouse = Service(repository, state, "clickhouse", "CLICKHOUSE_HTTP=");
            var rabbit = Service(repository, state, "rabbitmq", "RABBITMQ_URI=");
            Console.WriteLine($"ClickHouse {clickHouse}, RabbitMQ node of its own; one node, serve --role {role}; {events:N0} events in requests of {batch:N0}, {connections} connections");
            var generated = EventFactory.Generate(events, batch, seed: 7);
            Console.WriteLine($"  hub bodies {generated.HubBytes / 1e6:F0} MB (~{generated.HubBytes / events} B/event); {EventFactory.UserAgents.Count} user agents");
            var database = "bench_cluster_" + Guid.NewGuid().ToString("N")[..8];
            await using var node = await HubProcess.StartAsync(repository, "--clickhouse", $"{clickHouse}/{database}", "--rabbitmq", rabbit, "--role", role);
            var clock = Stopwatch.StartNew();
            var cpuBefore = Load.CpuSeconds(node.Pid);
            var result = await Load.RunAsync(generated.HubBodies, connections, Load.Hub(node.Url, node.WriteKey), node.Pid);
            var acknowledged = clock.Elapsed;
            var cpu = Load.CpuSeconds(node.Pid) - cpuBefore;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"acknowledged: {result.Rows:N0} events in {acknowledged.TotalSeconds:F1} s = {result.Rows / acknowledged.TotalSeconds:N0} events/s ({result.Failures} failed requests{(result.FirstFailure is { } f ? ": " + f : "")}); node CPU {cpu:F1} s = {cpu * 1e6 / Math.Max(1, result.Rows):F1} µs/event; {result.SecondHalfText.Replace("row", "event", StringComparison.Ordinal)}"));
            long stored = 0;
            while (clock.Elapsed < acknowledged + TimeSpan.FromMinutes(10))
            {
                stored = await CountAsync(clickHouse, database);
                if (stored >= result.Rows)
                {
                    break;
                }
                await Task.Delay(200);
            }
            var written = clock.Elapsed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"in ClickHouse: {stored:N0} events {written.TotalSeconds:F1} s after the first request = {stored / written.TotalSeconds:N0} events/s end to end; peak node memory {Load.PeakMemoryMiB(node.Pid):F0} MiB"));
            await ClickHouse.ExecAsync(clickHouse, $"DROP DATABASE IF EXISTS {database}");
            if (output is not null)
            {
                // One section per role, so that the two kinds of node stand side by side.
                printed!.Save(Path.Combine(repository, output), role == "all" ? "cluster-ingest" : "cluster-ingest-" + role,
                    role == "all" ? "Ingest on a cluster node (ClickHouse + RabbitMQ)" : $"Ingest on a collecting cluster node (serve --role {role})", args);
                Console.WriteLine($"Added the run to {output}.");
            }
            return result.Failures == 0 && stored == result.Rows ? 0 : 1;
        }
        finally
        {
            Stop(repository, state, "rabbitmq");
        }
    }

    private static async Task<long> CountAsync(string clickHouse, string database)
    {
        using var client = new HttpClient();
        var answer = await client.PostAsync(clickHouse + "/", new StringContent($"SELECT count() FROM {database}.events"));
        return answer.IsSuccessStatusCode ? long.Parse((await answer.Content.ReadAsStringAsync()).Trim(), CultureInfo.InvariantCulture) : 0;
    }

    private static string Service(string repository, string state, string name, string prefix)
    {
        var info = new ProcessStartInfo("bash", ["scripts/services.sh", "start", name]) { WorkingDirectory = repository, RedirectStandardOutput = true };
        // ClickHouse is shared with the other benchmarks (its usual state folder); RabbitMQ gets a node of its own.
        if (name == "rabbitmq")
        {
            info.Environment["ATALAYA_SERVICES"] = state;
        }
        using var process = Process.Start(info)!;
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..].Trim()
            ?? throw new InvalidOperationException($"scripts/services.sh start {name} failed:\n{text}");
    }

    private static void Stop(string repository, string state, string name)
    {
        var info = new ProcessStartInfo("bash", ["scripts/services.sh", "stop", name]) { WorkingDirectory = repository };
        info.Environment["ATALAYA_SERVICES"] = state;
        using var process = Process.Start(info)!;
        process.WaitForExit();
    }
}
