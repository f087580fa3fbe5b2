using System.Diagnostics;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Privacy;

namespace Atalaya.Bench.Privacy;

/// <summary>
/// <c>cluster-erase</c>: one person's erasure on a cluster node (docs/privacy.md, "On a cluster"): a
/// node in process (ClickHouse shared with the other benchmarks, a RabbitMQ node and a PostgreSQL of
/// its own, all started by scripts/services.sh) takes the ingest benchmark's N events; then the
/// busiest user and a median one are exported and erased. Each erasure rewrites the person's rows
/// with ClickHouse mutations, which on 18.16 rewrite every part of the table: the time grows with the
/// table, not with the person.
/// </summary>
public static class ClusterEraseBenchmark
{
    private const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- cluster-erase [--events N (200000)] [--out FILE]
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var events = 200_000;
        string? output = null;
        for (var i = 1; i < args.Length; i++)
        {
            var ok = i + 1 < args.Length && args[i] switch
            {
                "--events" => int.TryParse(args[++i], CultureInfo.InvariantCulture, out events) && events > 0,
                "--out" => (output = args[++i]) is not null,
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
        var state = Path.Combine(Path.GetTempPath(), "atalaya-erase-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var data = Path.Combine(state, "data");
        var database = "bench_erase_" + Guid.NewGuid().ToString("N")[..8];
        string? clickHouse = null;
        try
        {
            clickHouse = Service(repository, state, "clickhouse", "CLICKHOUSE_HTTP=", shared: true);
            var rabbit = Service(repository, state, "rabbitmq", "RABBITMQ_URI=", shared: false);
            var postgres = Service(repository, state, "postgres", "POSTGRES=", shared: false);
            var generated = EventFactory.Generate(events, 5_000, seed: 7);
            Console.WriteLine($"{events:N0} events; one node in process; load average {Load()}");
            using var shared = PostgresState.Open(postgres);
            var node = ClusterNode.Create($"{clickHouse}/{database}", rabbit, 4, "erase-bench");
            await using (var hub = Hub.Open(data, cluster: node, postgres: shared))
            {
                using var stop = new CancellationTokenSource();
                var running = Task.Run(() => node.RunAsync(hub.Log.Stores, hub.Kpis, hub.Recommendations, TimeSpan.FromSeconds(30), _ => { }, stop.Token));
                while (!node.Answering)
                {
                    await Task.Delay(100);
                }
                var clock = Stopwatch.StartNew();
                foreach (var body in generated.HubBodies)
                {
                    using var input = new MemoryStream(body);
                    await Engine.Collect.NdjsonImporter.ImportAsync(hub.Pipeline, input, "bench");
                }
                while (await node.ClickHouse.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None) < events || hub.Kpis.Projection.Count < events)
                {
                    await Task.Delay(200);
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  stored in ClickHouse and loaded in the projection in {clock.Elapsed.TotalSeconds:F1} s"));
                foreach (var (label, user, count) in Pick(generated.HubBodies))
                {
                    var person = new PersonRef(user, true);
                    clock.Restart();
                    var export = PersonExport.Build(hub.PersonalData, person);
                    var exportTime = clock.Elapsed;
                    clock.Restart();
                    var outcome = await hub.ClusterErasure!.EraseAsync(person, "bench", "bench");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {label} user ({count} events): export {exportTime.TotalMilliseconds:F0} ms ({export?.Length ?? 0:N0} bytes); erase {clock.Elapsed.TotalMilliseconds:F0} ms — {outcome.Status}, {outcome.Ids} ids, {outcome.Events} events in {outcome.Blocks} months; load average {Load()}"));
                }
                await stop.CancelAsync();
                try
                {
                    await running;
                }
                catch (OperationCanceledException)
                {
                }
                await node.DisposeAsync();
            }
            if (output is not null)
            {
                printed!.Save(Path.Combine(repository, output), "cluster-erase", "Erasure of one person on a cluster node (ClickHouse + RabbitMQ + PostgreSQL)", args);
                Console.WriteLine($"Added the run to {output}.");
            }
            return 0;
        }
        finally
        {
            if (clickHouse is not null)
            {
                using var client = new HttpClient();
                await client.PostAsync(clickHouse + "/", new StringContent($"DROP DATABASE IF EXISTS {database}"));
            }
            Stop(repository, state, "rabbitmq");
            Stop(repository, state, "postgres");
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>The busiest user id of the events and one with a median count.</summary>
    private static List<(string Label, string User, int Events)> Pick(List<byte[]> bodies)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in bodies.SelectMany(b => System.Text.Encoding.UTF8.GetString(b).Split('\n', StringSplitOptions.RemoveEmptyEntries)))
        {
            var at = line.IndexOf("\"user_id\":\"", StringComparison.Ordinal);
            if (at >= 0)
            {
                at += 11;
                var user = line[at..line.IndexOf('"', at)];
                counts[user] = counts.GetValueOrDefault(user) + 1;
            }
        }
        var ordered = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).ToList();
        var median = ordered[ordered.Count / 2];
        return [("busiest", ordered[0].Key, ordered[0].Value), ("median", median.Key, median.Value)];
    }

    private static string Service(string repository, string state, string name, string prefix, bool shared)
    {
        var info = new ProcessStartInfo("bash", ["scripts/services.sh", "start", name]) { WorkingDirectory = repository, RedirectStandardOutput = true };
        if (!shared)
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

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
