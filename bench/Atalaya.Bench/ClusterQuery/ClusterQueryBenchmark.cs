using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using Atalaya.Bench.Query;

namespace Atalaya.Bench.ClusterQuery;

/// <summary>
/// Both backends on the same events, side by side (issue 16): the query benchmark's data imported
/// into an embedded hub, moved to a cluster with <c>atalaya migrate --to-cluster</c> and written
/// into ClickHouse by a cluster node; then a fresh node is started and timed until it answers
/// (it loads its KPI projection from ClickHouse), and the query benchmark's questions are asked
/// of the embedded hub and of that node, one question after the other on both, every node answer
/// compared with the embedded hub's. Data and questions: <see cref="DemoDataset"/>, <see cref="Questions"/>.
/// </summary>
public static class ClusterQueryBenchmark
{
    /// <summary>Issue 16's target for the dashboard calls on a cluster node.</summary>
    private const double DashboardP95Ms = 300;

    private const string LoadProbe = "/api/kpi/query?metric=gmv&start_date=90d";

    /// <summary>One question on both sides; <paramref name="Difference"/> null when the answers agree on all <paramref name="Numbers"/> numbers.</summary>
    private sealed record Row(Question Question, Latency Embedded, Latency Node, string? Difference, int Numbers)
    {
        public bool Equal => Embedded.Available && Node.Available && Difference is null;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        if (ClusterQueryOptions.Parse(args) is not { } options)
        {
            Console.WriteLine(ClusterQueryOptions.Usage);
            return args.Contains("--help") || args.Contains("-h") ? 0 : 2;
        }
        var repository = Repository.Root();
        var dll = HubUnderTest.Dll(repository);
        using var printed = options.Out is null ? null : new PrintedSection();
        var work = Path.Combine(Path.GetTempPath(), "atalaya-bench-cluster-query-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(work);
        var loadBefore = LoadAverage();
        var interrupted = false;
        try
        {
            using var services = new ClusterServices(repository, Path.Combine(work, "services"));
            // Ctrl+C or a kill ends the process without running the finally blocks: stop the servers first.
            var hubs = new ConcurrentBag<int>();
            void Interrupted(PosixSignalContext signal)
            {
                // The run is not going on: clean up here and exit, rather than race the run's own clean-up.
                signal.Cancel = true;
                interrupted = true;
                Abandon(hubs, services, work);
                Console.WriteLine($"Stopped by {signal.Signal}: the hubs and servers this run started are stopped.");
                Environment.Exit(130);
            }
            using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupted);
            using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupted);
            var rows = await RunAsync(options, repository, dll, work, services, hubs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"1-minute load average: {loadBefore:F2} before the run, {LoadAverage():F2} at its end (the machine is shared: other work shows here)"));
            if (options.Out is { } output)
            {
                printed!.Save(Path.Combine(repository, output), $"cluster-query-{options.Label}",
                    $"Queries on a cluster node vs the embedded hub, {options.Label} events (ClickHouse + RabbitMQ)", args);
                Console.WriteLine($"Wrote the cluster-query-{options.Label} section of {output}.");
            }
            return rows.All(r => r.Embedded.Available && r.Node.Available) ? 0 : 1;
        }
        finally
        {
            try
            {
                // After a signal, Interrupted cleans up (the run's own calls fail meanwhile: their hubs are gone).
                if (!interrupted)
                {
                    Directory.Delete(work, recursive: true);
                }
            }
            catch (IOException e)
            {
                // Never hide the run's own failure behind the clean-up's.
                Console.WriteLine($"  could not delete {work}: {e.Message}");
            }
        }
    }

    /// <summary>Ends the hubs this run started (<paramref name="hubs"/>: their process ids), then its servers and its folder.</summary>
    private static void Abandon(ConcurrentBag<int> hubs, ClusterServices services, string work)
    {
        foreach (var pid in hubs)
        {
            try
            {
                using var hub = Process.GetProcessById(pid);
                hub.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // It has ended already.
            }
        }
        services.Dispose();
        try
        {
            Directory.Delete(work, recursive: true);
        }
        catch (IOException)
        {
            // A file a dying hub still held: the folder is in the temporary directory, the servers are stopped.
        }
    }

    private static async Task<List<Row>> RunAsync(ClusterQueryOptions options, string repository, string dll, string work, ClusterServices services, ConcurrentBag<int> hubs)
    {
        Console.WriteLine($"Data: about {options.Events:N0} demo events over {options.Days} days ending today (the query benchmark's) …");
        var dataset = DemoDataset.Ensure(dll, options.Dataset);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {dataset.Events:N0} events, {dataset.Bytes / 1e6:F0} MB, {dataset.FirstTimestamp:yyyy-MM-dd HH:mm} … {dataset.LastTimestamp:yyyy-MM-dd HH:mm} UTC, from `{dataset.Command}`"));

        // 1. The embedded hub, as `query` starts it.
        var embeddedData = Path.Combine(work, "embedded");
        Console.WriteLine("Embedded hub: atalaya import, then atalaya serve …");
        var (importTime, importSummary) = HubUnderTest.Import(dll, embeddedData, dataset.Path);
        Console.WriteLine($"  {importSummary} ({importTime.TotalSeconds:F1} s wall)");
        var embeddedToken = HubUnderTest.CreateAdminToken(dll, embeddedData);
        await using var embedded = await HubUnderTest.StartAsync(dll, embeddedData, TimeSpan.FromMinutes(10));
        hubs.Add(embedded.Pid);
        var embeddedSettled = await QueryBenchmark.WaitForBackgroundLoadAsync(embedded.Url, embeddedToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  ready (/readyz) in {embedded.Startup.TotalSeconds:F2} s, background start-up work (recommendation model) done {embeddedSettled.TotalSeconds:F1} s later; {Mib(embedded.ResidentBytes())} resident"));

        // 2. The cluster: its servers, the folder moved to it, a node writing it into ClickHouse.
        services.Start();
        using var clickHouse = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var version = (await ClickHouseTable.QueryAsync(clickHouse, services.ClickHouseUrl, "SELECT version()")).Trim();
        Console.WriteLine($"Cluster: ClickHouse {version} and a RabbitMQ node (scripts/services.sh, a state folder of this run's own)");
        var database = services.ClickHouseUrl + "/atalaya_bench";
        var cluster = new[] { "--clickhouse", database, "--rabbitmq", services.RabbitMqUri };
        var migrate = Stopwatch.StartNew();
        var migrated = HubProcess.Run("dotnet", work, [dll, "migrate", "--to-cluster", "--data", embeddedData, .. cluster]);
        migrate.Stop();
        var published = PublishedCount(migrated);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  atalaya migrate --to-cluster: {published:N0} events published with confirms in {migrate.Elapsed.TotalSeconds:F1} s = {published / migrate.Elapsed.TotalSeconds:N0} events/s"));

        await using (var writer = await HubProcess.StartAsync(repository, cluster))
        {
            hubs.Add(writer.Pid);
            var writing = Stopwatch.StartNew();
            // What the writer holds from the queues, sampled while it drains them.
            using var drained = new CancellationTokenSource();
            var holding = Task.Run(async () =>
            {
                long peak = 0;
                while (!drained.IsCancellationRequested)
                {
                    peak = Math.Max(peak, services.Unacknowledged() ?? 0);
                    await Task.Delay(500);
                }
                return peak;
            });
            var stored = await WaitForCountAsync(clickHouse, services.ClickHouseUrl, published, TimeSpan.FromMinutes(30));
            var elapsed = writing.Elapsed;
            await drained.CancelAsync();
            var held = await holding;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  a writer node (serve --clickhouse --rabbitmq) drained the queues: count() = {stored:N0} in ClickHouse {elapsed.TotalSeconds:F1} s after it was ready = {stored / elapsed.TotalSeconds:N0} events/s; peak node memory {Load.PeakMemoryMiB(writer.Pid):F0} MiB; {Holding(held)}"));
        }

        // 3. Fresh nodes over the data in ClickHouse, one after the other: start to the first KPI answer.
        // Each has a data folder of its own, so nothing but ClickHouse can speed its load; the last one is asked the questions.
        var loads = new List<double>();
        for (var run = 1; run < options.Loads; run++)
        {
            await using var earlier = await StartFreshNodeAsync(dll, work, cluster, hubs, run, options.Loads);
            loads.Add(earlier.Loaded.TotalSeconds);
        }
        await using var node = await StartFreshNodeAsync(dll, work, cluster, hubs, options.Loads, options.Loads);
        loads.Add(node.Loaded.TotalSeconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  load time over {loads.Count} fresh node(s): {loads.Min():F2} … {loads.Max():F2} s (median {loads.Order().ElementAt((loads.Count - 1) / 2):F2} s); embedded hub {Mib(embedded.ResidentBytes())} resident"));

        // 4. The questions, each on both sides in turn, and the answers compared.
        Console.WriteLine($"Questions: {options.Warmup} warm-up calls, then {options.Repeat} timed calls per question on one keep-alive connection, the embedded hub then the node:");
        using var embeddedClient = Client(embedded.Url, embeddedToken);
        using var nodeClient = Client(node.Hub.Url, node.Token);
        var rows = new List<Row>();
        foreach (var question in Questions.All)
        {
            HttpRequestMessage Ask() => new(HttpMethod.Get, question.HubPath);
            var onEmbedded = await Latency.MeasureAsync(embeddedClient, Ask, options.Warmup, options.Repeat);
            var onNode = await Latency.MeasureAsync(nodeClient, Ask, options.Warmup, options.Repeat);
            var (difference, numbers) = onEmbedded.Available && onNode.Available ? await CompareAsync(embeddedClient, nodeClient, question.HubPath) : ("not answered on both", 0);
            var row = new Row(question, onEmbedded, onNode, difference, numbers);
            rows.Add(row);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {question.Title}: embedded {Describe(onEmbedded)}; node {Describe(onNode)}; equal: {(row.Equal ? $"yes ({numbers:N0} numbers)" : "no, " + difference)}"));
        }
        await ReconciliationCost.PrintAsync(database);
        await Task.Delay(options.Idle);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Resident after the questions and {options.Idle.TotalSeconds:F0} s idle: embedded hub {Mib(embedded.ResidentBytes())}, node {Mib(node.Hub.ResidentBytes())}"));
        Print(rows);
        return rows;
    }

    private static string Holding(long messages) => messages > 0
        ? string.Create(CultureInfo.InvariantCulture, $"at most {messages:N0} messages (each at most 128 KiB: a part of a request's events of a shard, or of a migration's round) delivered to it and not yet acknowledged (rabbitmqctl's figures, refreshed every few seconds)")
        : "no unacknowledged messages seen (rabbitmqctl's figures are refreshed every few seconds: a shorter drain may not show)";

    /// <summary>A cluster node that was started over data already in ClickHouse, with its admin token and its load time.</summary>
    private sealed record FreshNode(HubUnderTest Hub, string Token, TimeSpan Loaded) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Hub.DisposeAsync();
    }

    /// <summary>Starts a node on a data folder of its own and times it from process start to its first KPI answer.</summary>
    private static async Task<FreshNode> StartFreshNodeAsync(string dll, string work, string[] cluster, ConcurrentBag<int> hubs, int run, int runs)
    {
        var data = Path.Combine(work, $"node-{run}");
        var token = HubUnderTest.CreateAdminToken(dll, data);
        var starting = Stopwatch.StartNew();
        var node = await HubUnderTest.StartAsync(dll, data, TimeSpan.FromMinutes(10), cluster);
        hubs.Add(node.Pid);
        try
        {
            var ready = starting.Elapsed;
            var loaded = await WaitForKpiAnswerAsync(node.Url, token, TimeSpan.FromMinutes(30), starting);
            var residentLoaded = node.ResidentBytes();
            var settled = await QueryBenchmark.WaitForBackgroundLoadAsync(node.Url, token);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  fresh node {run} of {runs}: /readyz {ready.TotalSeconds:F2} s after process start, first 200 on {LoadProbe} (KPI projection loaded from ClickHouse) after {loaded.TotalSeconds:F2} s, {Mib(residentLoaded)} resident then; background start-up work (recommendation model) done {settled.TotalSeconds:F1} s later"));
            // The node's own account of the load (ClusterNode logs it once the projection holds ClickHouse's events).
            if (node.Output.FirstOrDefault(l => l.Contains("KPI projection loaded", StringComparison.Ordinal)) is { } account)
            {
                Console.WriteLine($"    its log: {account.Trim()}");
            }
            return new FreshNode(node, token, loaded);
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>The "Published N events" line of <c>atalaya migrate --to-cluster</c>.</summary>
    private static long PublishedCount(string output)
    {
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("Published ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"atalaya migrate --to-cluster did not say what it published:\n{output}");
        return long.Parse(line.Split(' ')[1], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
    }

    private static async Task<long> WaitForCountAsync(HttpClient client, string clickHouse, long expected, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        long count = 0;
        while (clock.Elapsed < timeout)
        {
            // The table appears when the writer node starts; until then ClickHouse answers an error.
            using var response = await client.PostAsync(clickHouse + "/", new StringContent("SELECT count() FROM atalaya_bench.events"));
            if (response.IsSuccessStatusCode)
            {
                count = long.Parse((await response.Content.ReadAsStringAsync()).Trim(), CultureInfo.InvariantCulture);
                if (count >= expected)
                {
                    return count;
                }
            }
            await Task.Delay(200);
        }
        throw new InvalidOperationException($"ClickHouse held {count:N0} of the {expected:N0} migrated events after {timeout.TotalMinutes:F0} minutes");
    }

    /// <summary>Polls a KPI question until it answers 200 (503 while the node loads); returns <paramref name="since"/>'s time then.</summary>
    private static async Task<TimeSpan> WaitForKpiAnswerAsync(string url, string token, TimeSpan timeout, Stopwatch since)
    {
        using var client = Client(url, token);
        while (since.Elapsed < timeout)
        {
            using var response = await client.GetAsync(LoadProbe);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return since.Elapsed;
            }
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                throw new InvalidOperationException($"GET {LoadProbe} answered {(int)response.StatusCode} while the node loaded: {await response.Content.ReadAsStringAsync()}");
            }
            await Task.Delay(20);
        }
        throw new InvalidOperationException($"the node did not answer {LoadProbe} within {timeout.TotalMinutes:F0} minutes");
    }

    /// <summary>
    /// Null when the node's answer equals the embedded hub's, else the first difference. The
    /// embedded hub is asked before and after the node: when its two answers differ, the clock
    /// passed into a new hour or day between the calls, and the three are asked again.
    /// </summary>
    private static async Task<(string? Difference, int Numbers)> CompareAsync(HttpClient embedded, HttpClient node, string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            var before = await GetAsync(embedded, path);
            var onNode = await GetAsync(node, path);
            var after = await GetAsync(embedded, path);
            if (AnswerEquality.FirstDifference(before, after) is null || attempt == 2)
            {
                var (difference, numbers) = AnswerEquality.Compare(before, onNode);
                return difference is null && !AnswerEquality.HasFigure(before) ? ("the embedded answer holds no figure other than 0: nothing compared", numbers) : (difference, numbers);
            }
        }
    }

    private static async Task<string> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.OK ? body : throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {body}");
    }

    private static void Print(IReadOnlyList<Row> rows)
    {
        Console.WriteLine();
        Console.WriteLine($"{"question (ms)",-56} {"emb p50",8} {"emb p95",8} {"emb p99",8} {"node p50",9} {"node p95",9} {"node p99",9}  equal");
        foreach (var row in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Question.Title + (row.Question.Dashboard ? " *" : ""),-56} {Ms(row.Embedded, 0.5),8} {Ms(row.Embedded, 0.95),8} {Ms(row.Embedded, 0.99),8} {Ms(row.Node, 0.5),9} {Ms(row.Node, 0.95),9} {Ms(row.Node, 0.99),9}  {(row.Equal ? "yes" : "no")}"));
        }
        Console.WriteLine("(* a dashboard call: /api/kpi/query, /summary, /timeseries)");
        var dashboard = rows.Where(r => r.Question.Dashboard).ToList();
        var slowest = dashboard.MaxBy(r => r.Node.Available ? r.Node.P95 : double.PositiveInfinity)!;
        var dashboardMet = dashboard.All(r => r.Node.Available && r.Node.P95 <= DashboardP95Ms);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"target: every dashboard call p95 <= {DashboardP95Ms:F0} ms on the node: {(dashboardMet ? "met" : "NOT met")} (slowest: {slowest.Question.Short}, p95 {Ms(slowest.Node, 0.95)} ms)"));
        var equal = rows.Count(r => r.Equal);
        Console.WriteLine($"target: every answer of the node equal to the embedded hub's: {(equal == rows.Count ? "met" : "NOT met")} ({equal} of {rows.Count} questions)");
    }

    private static HttpClient Client(string url, string token)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static string Describe(Latency latency) => latency.Available
        ? string.Create(CultureInfo.InvariantCulture, $"p50 {latency.Median:F1} / p95 {latency.P95:F1} / p99 {latency.Percentile(0.99):F1} ms")
        : latency.Problem!;

    private static string Ms(Latency latency, double percentile) =>
        latency.Available ? latency.Percentile(percentile).ToString("F1", CultureInfo.InvariantCulture) : "-";

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F0} MiB");

    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
}
