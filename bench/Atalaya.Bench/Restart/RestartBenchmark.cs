using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Atalaya.Bench.Query;

namespace Atalaya.Bench.Restart;

/// <summary>
/// Start-up after a crash (issue 17, item 12). The hub keeps its KPI projection in memory and
/// snapshots it every 5 minutes when events arrived, sooner once 500,000 events arrived since the
/// last snapshot (checked every second, src/Atalaya/Hosting/HubLoader.cs); a restart reads the
/// snapshot and replays the stored events after it. The worst a crash leaves is the count
/// threshold plus what arrives before the next check. This benchmark imports the query benchmark's
/// data minus its last <c>--after-snapshot</c> events (the import ends with a snapshot), posts those
/// events over HTTP to a running hub, kills it with SIGKILL at once and times restarts: process
/// start to the first <c>GET /readyz</c> = 200. Each crash run is killed again right after it is
/// ready (before its own maintenance pass could snapshot), so every run replays the same events.
/// A clean restart (SIGTERM, final snapshot, start) is timed beside it.
/// </summary>
public static class RestartBenchmark
{
    private const double StartupSecondsTarget = 5;

    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- restart [options]

          --events N          events of the query benchmark's demo data (default 1000000; 10000000 for the large run)
          --after-snapshot N  events posted after the last snapshot, then the crash (default 500000: the hub's
                              count threshold for a snapshot)
          --runs N            crash restarts timed (default 3)
          --days N            days of history (default 120), --seed S (default 42), --cache DIR as in `query`
          --out FILE          write the restart section into FILE (e.g. docs/benchmarks.md)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var afterSnapshot = 500_000;
        var runs = 3;
        var options = DemoRunArgs.Parse(args, Usage, new Dictionary<string, Func<string, bool>>
        {
            ["--after-snapshot"] = v => int.TryParse(v, CultureInfo.InvariantCulture, out afterSnapshot) && afterSnapshot >= 1,
            ["--runs"] = v => int.TryParse(v, CultureInfo.InvariantCulture, out runs) && runs >= 1,
        }, out var exitCode);
        if (options is null)
        {
            return exitCode;
        }

        var repository = Repository.Root();
        var dll = HubUnderTest.Dll(repository);
        var queryOptions = options.Dataset;
        var dataset = DemoDataset.Ensure(dll, queryOptions);
        if (afterSnapshot >= dataset.Events)
        {
            Console.WriteLine($"--after-snapshot {afterSnapshot:N0} must be below the data's {dataset.Events:N0} events.");
            return 2;
        }
        var loadBefore = LoadAverage();
        var work = Path.Combine(Path.GetTempPath(), "atalaya-bench-restart-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(work);
        try
        {
            var data = Path.Combine(work, "hub");
            var head = Path.Combine(work, "head.ndjson");
            var tail = SplitTail(dataset.Path, head, dataset.Events - afterSnapshot);
            Console.WriteLine($"Hub: atalaya import of the first {dataset.Events - afterSnapshot:N0} events (ends with a snapshot) …");
            var (importTime, importSummary) = HubUnderTest.Import(dll, data, head);
            File.Delete(head);
            Console.WriteLine($"  {importSummary} ({importTime.TotalSeconds:F1} s wall)");
            var writeKey = HubProcess.Run("dotnet", work, dll, "tokens", "create", "--role", "write", "--source", "bench", "--data", data).TrimEnd().Split('\n')[^1].Trim();
            var snapshot = Atalaya.Engine.Hub.SnapshotPath(data);

            TimeSpan snapshotStartup;
            await using (var server = await HubUnderTest.StartAsync(dll, data, TimeSpan.FromMinutes(10)))
            {
                snapshotStartup = server.Startup;
                var snapshotTime = File.GetLastWriteTimeUtc(snapshot);
                Console.WriteLine($"Posting the last {afterSnapshot:N0} events (NDJSON, 5,000 a request) …");
                var posting = System.Diagnostics.Stopwatch.StartNew();
                var posted = await PostAsync(server.Url, writeKey, tail);
                await server.CrashAsync();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {posted:N0} accepted in {posting.Elapsed.TotalSeconds:F1} s, then SIGKILL"));
                if (File.GetLastWriteTimeUtc(snapshot) != snapshotTime)
                {
                    Console.WriteLine("  note: the hub saved a snapshot while the events arrived; the restarts replay fewer events than posted");
                }
            }

            var crashes = new List<(TimeSpan Startup, string Ready)>();
            for (var run = 1; run <= runs; run++)
            {
                await using var server = await HubUnderTest.StartAsync(dll, data, TimeSpan.FromMinutes(10));
                await server.CrashAsync();
                var ready = ReadyLine(server);
                crashes.Add((server.Startup, ready));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  restart after a crash #{run}: ready in {server.Startup.TotalSeconds:F2} s ({ready})"));
            }

            TimeSpan clean;
            string cleanReady;
            await using (var server = await HubUnderTest.StartAsync(dll, data, TimeSpan.FromMinutes(10)))
            {
                var before = File.GetLastWriteTimeUtc(snapshot);
                var stopping = System.Diagnostics.Stopwatch.StartNew();
                await server.StopAsync();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  clean stop (SIGTERM) in {stopping.Elapsed.TotalSeconds:F1} s; snapshot {(File.GetLastWriteTimeUtc(snapshot) != before ? "written" : "NOT written")}"));
                foreach (var line in server.Output.TakeLast(3))
                {
                    Console.WriteLine("    " + line);
                }
            }
            await using (var server = await HubUnderTest.StartAsync(dll, data, TimeSpan.FromMinutes(10)))
            {
                clean = server.Startup;
                cleanReady = ReadyLine(server);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  restart after a clean stop: ready in {clean.TotalSeconds:F2} s ({cleanReady})"));
            }

            var worst = crashes.Max(c => c.Startup);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"start-up after a crash: worst {worst.TotalSeconds:F2} s of {runs} (target ≤ {StartupSecondsTarget} s: {(worst.TotalSeconds <= StartupSecondsTarget ? "met" : "not met")}); after a clean stop {clean.TotalSeconds:F2} s; first start after the import {snapshotStartup.TotalSeconds:F2} s"));
            if (options.Output is { } output)
            {
                Write(Path.Combine(repository, output), args, dataset, afterSnapshot, crashes, clean, cleanReady, (loadBefore, LoadAverage()));
                Console.WriteLine($"Wrote the restart section of {output}.");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Writes the first <paramref name="headLines"/> lines to <paramref name="head"/> and returns the rest as 5,000-line NDJSON bodies.</summary>
    private static List<byte[]> SplitTail(string path, string head, long headLines)
    {
        var bodies = new List<byte[]>();
        using var input = File.OpenRead(path);
        using var writer = new FileStream(head, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var lines = new NdjsonLines(input);
        var body = new MemoryStream();
        var inBody = 0;
        for (long n = 0; lines.TryRead(out var line); n++)
        {
            var target = n < headLines ? (Stream)writer : body;
            target.Write(line.Span);
            target.WriteByte((byte)'\n');
            if (n >= headLines && ++inBody == 5000)
            {
                bodies.Add(body.ToArray());
                body.SetLength(0);
                inBody = 0;
            }
        }
        if (inBody > 0)
        {
            bodies.Add(body.ToArray());
        }
        return bodies;
    }

    private static async Task<long> PostAsync(string url, string writeKey, List<byte[]> bodies)
    {
        var result = await Load.RunAsync(bodies, 2, async (client, body) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url + "/api/events") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", writeKey);
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                return (false, 0, $"{(int)response.StatusCode} {text}");
            }
            using var document = System.Text.Json.JsonDocument.Parse(text);
            return (true, document.RootElement.GetProperty("accepted").GetInt64(), null);
        });
        return result.Failures == 0
            ? result.Rows
            : throw new InvalidOperationException($"{result.Failures} requests failed: {result.FirstFailure}");
    }

    /// <summary>The hub's own "Hub ready" log line, shortened to what it says about the load.</summary>
    private static string ReadyLine(HubUnderTest server)
    {
        var line = server.Output.LastOrDefault(l => l.Contains("Hub ready:", StringComparison.Ordinal));
        return line is null ? "no ready line" : line[(line.IndexOf("Hub ready:", StringComparison.Ordinal) + 11)..].Trim();
    }

    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    private static void Write(string path, string[] args, DemoDataset dataset, int afterSnapshot, List<(TimeSpan Startup, string Ready)> crashes,
        TimeSpan clean, string cleanReady, (double Before, double After) load)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine("## Start-up after a crash");
        text.AppendLine();
        text.AppendLine("The hub snapshots its KPI projection every 5 minutes when events arrived, sooner once 500,000 events");
        text.AppendLine("arrived since the last snapshot (checked every second). `bench restart` imports the demo data minus its");
        text.AppendLine("last events, posts those to a running hub, kills it with SIGKILL and times process start to the first");
        text.AppendLine("`GET /readyz` = 200, which replays the stored events after the snapshot.");
        text.AppendLine();
        text.AppendLine(c, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine(c, $"- Machine: {Report.Machine()}; 1-minute load average {load.Before:F1} before the run, {load.After:F1} after");
        text.AppendLine(c, $"- Data: {dataset.Events:N0} events from `{dataset.Command}`; the last {afterSnapshot:N0} posted after the snapshot");
        text.AppendLine(c, $"- Command: `dotnet run -c Release --project bench/Atalaya.Bench -- {string.Join(' ', args)}`");
        text.AppendLine();
        text.AppendLine("| start | ready after (s) | the hub's log |");
        text.AppendLine("|---|---:|---|");
        for (var i = 0; i < crashes.Count; i++)
        {
            text.AppendLine(c, $"| after SIGKILL #{i + 1} | {crashes[i].Startup.TotalSeconds:F2} | {crashes[i].Ready} |");
        }
        text.AppendLine(c, $"| after a clean stop (SIGTERM) | {clean.TotalSeconds:F2} | {cleanReady} |");
        text.AppendLine();
        var worst = crashes.Max(x => x.Startup).TotalSeconds;
        text.AppendLine(c, $"Target: start-up after a crash ≤ {StartupSecondsTarget} s: worst of {crashes.Count} runs {worst:F2} s, **{(worst <= StartupSecondsTarget ? "met" : "not met")}**.");
        Report.Replace(path, "restart", text.ToString());
    }
}
