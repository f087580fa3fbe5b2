using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Atalaya.Bench.Query;

namespace Atalaya.Bench.Mixed;

/// <summary>
/// Reads under write load (issue 17, item 10): the hub loaded with the query benchmark's data, then
/// for <c>--duration</c> seconds two writers post 5,000-event requests (the ingest benchmark's events,
/// dated over the last three days) while two readers ask the dashboard's questions in turn, one
/// call after another each. Reported: p50/p95/p99 per question under load, the same questions
/// without writers for <c>--quiet</c> seconds first (the reference), and the write rate.
/// </summary>
public static class MixedBenchmark
{
    private const double DashboardP95Ms = 20;

    /// <summary>The dashboard's calls: the summary, GMV by country daily over 90 days, the hourly time series, weekly visitors by country.</summary>
    public static readonly (string Title, string Path)[] Reads =
    [
        ("KPI summary", "/api/kpi/summary"),
        ("GMV by country, daily, 90 days", "/api/kpi/query?metric=gmv&start_date=90d&aggregate=daily&group_by=country"),
        ("GMV time series, hourly, 24 h", "/api/kpi/timeseries?metric=gmv&hours=24"),
        ("Visitors by country, weekly, 90 days", "/api/kpi/query?metric=visitors&start_date=90d&aggregate=weekly&group_by=country"),
    ];

    /// <summary>Events in each write request.</summary>
    private const int RequestEvents = 5000;

    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- mixed [options]

          --events N       events of the query benchmark's demo data loaded first (default 1000000)
          --duration S     seconds of mixed load: 2 writers, 2 readers (default 150)
          --quiet S        seconds of the same reads without writers, measured first (default 20)
          --writers N      concurrent writers, 5,000 events a request (default 2)
          --readers N      concurrent readers (default 2)
          --write-rate N   events a second the writers send together, paced (default 0: as fast as they can)
          --days N, --seed S, --cache DIR   the demo data, as in `query`
          --out FILE       write the mixed-load section into FILE (e.g. docs/benchmarks.md)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        double duration = 150, quiet = 20;
        int writers = 2, readers = 2, writeRate = 0;
        var options = DemoRunArgs.Parse(args, Usage, new Dictionary<string, Func<string, bool>>
        {
            ["--duration"] = v => double.TryParse(v, CultureInfo.InvariantCulture, out duration) && duration > 0,
            ["--quiet"] = v => double.TryParse(v, CultureInfo.InvariantCulture, out quiet) && quiet >= 0,
            ["--writers"] = v => int.TryParse(v, CultureInfo.InvariantCulture, out writers) && writers >= 0,
            ["--readers"] = v => int.TryParse(v, CultureInfo.InvariantCulture, out readers) && readers >= 1,
            ["--write-rate"] = v => int.TryParse(v, CultureInfo.InvariantCulture, out writeRate) && writeRate >= 0,
        }, out var exitCode);
        if (options is null)
        {
            return exitCode;
        }

        var repository = Repository.Root();
        var dll = HubUnderTest.Dll(repository);
        var dataset = DemoDataset.Ensure(dll, options.Dataset);
        // 100 distinct bodies; each request gets fresh ids by rewriting the run prefix (WriteBodies).
        var templates = EventFactory.Generate(500_000, RequestEvents, seed: 11, start: DateTime.UtcNow.AddDays(-3));
        var loadBefore = LoadAverage();
        var work = Path.Combine(Path.GetTempPath(), "atalaya-bench-mixed-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(work);
        try
        {
            var data = Path.Combine(work, "hub");
            Console.WriteLine("Hub: atalaya import …");
            var (_, importSummary) = HubUnderTest.Import(dll, data, dataset.Path);
            Console.WriteLine($"  {importSummary}");
            var token = HubUnderTest.CreateAdminToken(dll, data);
            var writeKey = HubProcess.Run("dotnet", work, dll, "tokens", "create", "--role", "write", "--source", "bench", "--data", data).TrimEnd().Split('\n')[^1].Trim();
            await using var server = await HubUnderTest.StartAsync(dll, data, TimeSpan.FromMinutes(10));

            using (var warm = ReadClient(server.Url, token))
            {
                foreach (var (_, path) in Reads)
                {
                    (await warm.GetAsync(path)).EnsureSuccessStatusCode();
                }
            }
            Phase? alone = null;
            if (quiet > 0)
            {
                Console.WriteLine($"Reads alone ({readers} readers, {quiet:F0} s) …");
                alone = await RunPhaseAsync(server, token, writeKey, templates, TimeSpan.FromSeconds(quiet), readers, 0, 0);
                PrintPhase(alone);
            }
            Console.WriteLine($"Mixed load ({writers} writers × 5,000-event requests{(writeRate > 0 ? $" paced at {writeRate:N0} events/s" : "")}, {readers} readers, {duration:F0} s) …");
            var mixed = await RunPhaseAsync(server, token, writeKey, templates, TimeSpan.FromSeconds(duration), readers, writers, writeRate);
            PrintPhase(mixed);
            // The writes grew the days the dashboard reads (by millions of events in a soak): the same
            // reads alone on that data tell what the writes' competition costs from what the data costs.
            Phase? after = null;
            if (quiet > 0)
            {
                Console.WriteLine($"Reads alone after the writes ({readers} readers, {quiet:F0} s) …");
                after = await RunPhaseAsync(server, token, writeKey, templates, TimeSpan.FromSeconds(quiet), readers, 0, 0);
                PrintPhase(after);
            }
            if (options.Output is { } output)
            {
                Write(Path.Combine(repository, output), args, dataset, importSummary, alone, mixed, after, readers, writers, writeRate, (loadBefore, LoadAverage()));
                Console.WriteLine($"Wrote the mixed-load section of {output}.");
            }
            return mixed.WriteFailures + mixed.ReadFailures == 0 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    public sealed record Phase(TimeSpan Elapsed, List<double>[] Samples, long Rows, int WriteRequests, int WriteFailures, int ReadFailures, string? FirstFailure, double HubCpuSeconds);

    /// <param name="writeRate">Events a second for all writers together: request k is not sent before k × 5,000 / rate seconds (0: no pacing).</param>
    private static async Task<Phase> RunPhaseAsync(HubUnderTest server, string token, string writeKey, EventFactory.Generated templates, TimeSpan duration, int readers, int writers, int writeRate)
    {
        var samples = Reads.Select(_ => new List<double>()).ToArray();
        long rows = 0;
        int requests = 0, writeFailures = 0, readFailures = 0;
        string? firstFailure = null;
        var cpuBefore = Load.CpuSeconds(server.Pid);
        var clock = Stopwatch.StartNew();
        var next = 0;
        var generation = 0;

        async Task ReadLoop(int reader)
        {
            using var client = ReadClient(server.Url, token);
            var question = reader % Reads.Length;
            var timer = new Stopwatch();
            while (clock.Elapsed < duration)
            {
                timer.Restart();
                using var response = await client.GetAsync(Reads[question].Path, HttpCompletionOption.ResponseContentRead);
                var milliseconds = timer.Elapsed.TotalMilliseconds;
                if (response.IsSuccessStatusCode)
                {
                    lock (samples[question])
                    {
                        samples[question].Add(milliseconds);
                    }
                }
                else
                {
                    Interlocked.Increment(ref readFailures);
                    firstFailure ??= $"{Reads[question].Path}: {(int)response.StatusCode}";
                }
                question = (question + 1) % Reads.Length;
            }
        }

        async Task WriteLoop()
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { Timeout = TimeSpan.FromMinutes(2) };
            while (clock.Elapsed < duration)
            {
                var index = Interlocked.Increment(ref next) - 1;
                if (writeRate > 0)
                {
                    var wait = TimeSpan.FromSeconds(index * (double)RequestEvents / writeRate) - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait);
                    }
                    if (clock.Elapsed >= duration)
                    {
                        break;
                    }
                }
                var body = FreshIds(templates, index % templates.HubBodies.Count, Interlocked.Increment(ref generation));
                using var request = new HttpRequestMessage(HttpMethod.Post, server.Url + "/api/events") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", writeKey);
                using var response = await client.SendAsync(request);
                var text = await response.Content.ReadAsStringAsync();
                Interlocked.Increment(ref requests);
                if (response.IsSuccessStatusCode)
                {
                    using var document = System.Text.Json.JsonDocument.Parse(text);
                    Interlocked.Add(ref rows, document.RootElement.GetProperty("accepted").GetInt64());
                }
                else
                {
                    Interlocked.Increment(ref writeFailures);
                    firstFailure ??= $"POST /api/events: {(int)response.StatusCode} {text}";
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, readers).Select(ReadLoop).Concat(Enumerable.Range(0, writers).Select(_ => WriteLoop())));
        return new Phase(clock.Elapsed, samples, rows, requests, writeFailures, readFailures, firstFailure, Load.CpuSeconds(server.Pid) - cpuBefore);
    }

    /// <summary>
    /// A template body with its run prefix (the first 8 characters of every id, session and order
    /// id) replaced by a new one, so every request carries new events and none is a duplicate.
    /// </summary>
    private static byte[] FreshIds(EventFactory.Generated templates, int index, int generation)
    {
        var body = (byte[])templates.HubBodies[index].Clone();
        var run = Encoding.ASCII.GetBytes(templates.Run);
        var fresh = Encoding.ASCII.GetBytes(generation.ToString("x8", CultureInfo.InvariantCulture));
        var span = body.AsSpan();
        for (var at = span.IndexOf(run); at >= 0;)
        {
            fresh.CopyTo(span[at..]);
            var following = span[(at + run.Length)..].IndexOf(run);
            at = following < 0 ? -1 : at + run.Length + following;
        }
        return body;
    }

    private static HttpClient ReadClient(string url, string token)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static double Percentile(List<double> samples, double p)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }
        var sorted = samples.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static void PrintPhase(Phase phase)
    {
        var c = CultureInfo.InvariantCulture;
        for (var q = 0; q < Reads.Length; q++)
        {
            var s = phase.Samples[q];
            Console.WriteLine(string.Create(c, $"  {Reads[q].Title,-40} {s.Count,6} calls  p50 {Percentile(s, 0.5),7:F1} ms  p95 {Percentile(s, 0.95),7:F1} ms  p99 {Percentile(s, 0.99),7:F1} ms"));
        }
        if (phase.WriteRequests > 0)
        {
            Console.WriteLine(string.Create(c,
                $"  writes: {phase.Rows:N0} events in {phase.WriteRequests:N0} requests = {phase.Rows / phase.Elapsed.TotalSeconds:N0} events/s; hub CPU {phase.HubCpuSeconds:F0} s"));
        }
        if (phase.WriteFailures + phase.ReadFailures > 0)
        {
            Console.WriteLine($"  failures: {phase.WriteFailures} writes, {phase.ReadFailures} reads; first: {phase.FirstFailure}");
        }
    }

    private static string Quantiles(Phase? phase, int question) => phase is null ? "-" : string.Create(CultureInfo.InvariantCulture,
        $"{Percentile(phase.Samples[question], 0.5):F1} / {Percentile(phase.Samples[question], 0.95):F1} / {Percentile(phase.Samples[question], 0.99):F1}");

    private static string Label(long events) => events >= 1_000_000
        ? (events / 1e6).ToString("0", CultureInfo.InvariantCulture) + "M"
        : (events / 1e3).ToString("0", CultureInfo.InvariantCulture) + "k";

    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    private static void Write(string path, string[] args, DemoDataset dataset, string importSummary, Phase? alone, Phase mixed, Phase? after, int readers, int writers,
        int writeRate, (double Before, double After) load)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"### Reads under write load, {Label(dataset.Events)} events{(writeRate > 0 ? $", writes paced at {writeRate:N0} events/s" : "")}");
        text.AppendLine();
        text.AppendLine("`bench mixed`: the hub loaded with the query benchmark's data; readers ask the dashboard's four calls in");
        text.AppendLine("turn (one call after another each) first alone, then while writers post 5,000-event requests of the");
        text.AppendLine("ingest benchmark's events (new ids every request, dated over the last three days). Latency is from sending");
        text.AppendLine("the request to reading the whole answer.");
        text.AppendLine();
        text.AppendLine(c, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine(c, $"- Machine: {Report.Machine()}; 1-minute load average {load.Before:F1} before the run, {load.After:F1} after");
        text.AppendLine(c, $"- Data: {dataset.Events:N0} events from `{dataset.Command}` ({importSummary.TrimEnd('.')})");
        text.AppendLine(c, $"- Command: `dotnet run -c Release --project bench/Atalaya.Bench -- {string.Join(' ', args)}`");
        text.AppendLine(c, $"- Load: {readers} readers; {writers} writers{(writeRate > 0 ? $" paced at {writeRate:N0} events/s together" : " as fast as they can")} for {mixed.Elapsed.TotalSeconds:F0} s: {mixed.Rows:N0} events in {mixed.WriteRequests:N0} requests = **{mixed.Rows / mixed.Elapsed.TotalSeconds:N0} events/s** written, {mixed.WriteFailures} failed writes, {mixed.ReadFailures} failed reads");
        text.AppendLine();
        text.AppendLine("| question | calls | p50 (ms) | p95 (ms) | p99 (ms) | alone before: p50 / p95 / p99 (ms) | alone after the writes: p50 / p95 / p99 (ms) |");
        text.AppendLine("|---|---:|---:|---:|---:|---|---|");
        for (var q = 0; q < Reads.Length; q++)
        {
            var s = mixed.Samples[q];
            text.AppendLine(c, $"| {Reads[q].Title} `{Reads[q].Path}` | {s.Count:N0} | {Percentile(s, 0.5):F1} | {Percentile(s, 0.95):F1} | {Percentile(s, 0.99):F1} | {Quantiles(alone, q)} | {Quantiles(after, q)} |");
        }
        text.AppendLine();
        var worst = Enumerable.Range(0, Reads.Length).Max(q => Percentile(mixed.Samples[q], 0.95));
        text.AppendLine(c, $"Target: dashboard calls p95 ≤ {DashboardP95Ms} ms while ingest runs: worst p95 {worst:F1} ms, **{(worst <= DashboardP95Ms ? "met" : "not met")}**.");
        var label = Label(dataset.Events) + (writeRate > 0 ? $"-rate{writeRate}" : "");
        var existing = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n\n";
        Report.Replace(existing, "mixed", "", out var previous);
        var blocks = Report.Replace(previous ?? "", $"mixed-{label}", text.ToString(), out _).Trim();
        File.WriteAllText(path, Report.Replace(existing, "mixed", blocks + "\n", out _));
    }
}
