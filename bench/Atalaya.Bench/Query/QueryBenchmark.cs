using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Atalaya.Bench.Query;

/// <summary>
/// The query benchmark (issue 3): the same generated events loaded into the hub (<c>atalaya
/// import</c>, then <c>atalaya serve</c>) and into a local ClickHouse, the same questions timed on
/// both, one side at a time so they never share the two cores, and the answers compared where they
/// are comparable. Data: <see cref="DemoDataset"/>; questions: <see cref="Questions"/>; report:
/// <see cref="QueryReport"/>.
/// </summary>
public static class QueryBenchmark
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    /// <summary>The hub's answers, and the figures of the server the benchmark started (null for <c>--hub-url</c>).</summary>
    public sealed record HubRun(IReadOnlyList<Latency> Latencies, HubServer? Server);

    /// <summary>
    /// The started server's figures. Memory is judged at steady state: <see cref="ResidentSteady"/> is
    /// the resident memory after every question's runs and an idle pause, minus the empty server's
    /// after the same pause; <see cref="Resident"/> (1 s after start-up) is the most favourable moment
    /// and is kept only to compare with earlier runs.
    /// </summary>
    public sealed record HubServer(TimeSpan Import, string ImportSummary, TimeSpan EmptyStartup, TimeSpan Startup, long EmptyResident, long Resident,
        long ResidentAfterQueries, long ResidentPeak, long ResidentSteady, TimeSpan Idle, long DataBytes)
    {
        public double BytesPerEventAtStartup(long events) => (Resident - EmptyResident) / (double)events;

        public double BytesPerEvent(long events) => (ResidentSteady - EmptyResident) / (double)events;

        public double PeakBytesPerEvent(long events) => (ResidentPeak - EmptyResident) / (double)events;
    }

    public sealed record ClickHouseRun(string Version, ClickHouseTable.LoadResult Load, IReadOnlyList<Latency> Latencies);

    public sealed record Row(Question Question, Latency? Hub, Latency? ClickHouse, string Agreement);

    public static async Task<int> RunAsync(QueryOptions options)
    {
        var repository = Repository.Root();
        var dll = HubUnderTest.Dll(repository);
        Console.WriteLine($"Data: about {options.Events:N0} demo events over {options.Days} days ending today …");
        var dataset = DemoDataset.Ensure(dll, options);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {dataset.Events:N0} events, {dataset.Bytes / 1e6:F0} MB, {dataset.FirstTimestamp:yyyy-MM-dd HH:mm} … {dataset.LastTimestamp:yyyy-MM-dd HH:mm} UTC"));
        var clock = new QueryClock(DateTime.UtcNow);
        var loadBefore = LoadAverage();

        var work = Path.Combine(Path.GetTempPath(), "atalaya-bench-query-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(work);
        HubRun? hub = null;
        ClickHouseRun? clickhouse = null;
        try
        {
            if (options.HubUrl is { } hubUrl)
            {
                Console.WriteLine($"Hub at {hubUrl} …");
                hub = new HubRun(await AskHubAsync(hubUrl, options.HubToken ?? "", options), null);
            }
            else if (!options.SkipHub)
            {
                hub = await RunHubAsync(dll, work, dataset, options);
            }
            if (!options.SkipClickHouse)
            {
                clickhouse = await RunClickHouseAsync(repository, dataset, clock, options);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        var rows = Questions.All.Select((q, i) => new Row(q, hub?.Latencies[i], clickhouse?.Latencies[i], Agreement(q, hub?.Latencies[i], clickhouse?.Latencies[i], clock))).ToList();
        Print(rows, hub, dataset);
        if (options.Out is { } output)
        {
            QueryReport.Write(Path.Combine(repository, output), options, dataset, hub, clickhouse, rows, (loadBefore, LoadAverage()));
            Console.WriteLine($"Wrote the query section of {output}.");
        }
        return 0;
    }

    private static async Task<HubRun> RunHubAsync(string dll, string work, DemoDataset dataset, QueryOptions options)
    {
        var data = Path.Combine(work, "hub");
        Console.WriteLine("Hub: atalaya import …");
        var (importTime, importSummary) = HubUnderTest.Import(dll, data, dataset.Path);
        Console.WriteLine($"  {importSummary} ({importTime.TotalSeconds:F1} s wall)");
        var token = HubUnderTest.CreateAdminToken(dll, data);

        long emptyResident;
        TimeSpan emptyStartup;
        await using (var empty = await HubUnderTest.StartAsync(dll, Path.Combine(work, "empty"), TimeSpan.FromSeconds(60)))
        {
            // The same pause as after the questions, so both sides of the difference are at rest.
            await Task.Delay(options.Idle);
            emptyResident = empty.ResidentBytes();
            emptyStartup = empty.Startup;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  empty data folder: ready in {emptyStartup.TotalSeconds:F2} s, {emptyResident / 1048576.0:F0} MiB resident after {options.Idle.TotalSeconds:F0} s idle"));

        await using var server = await HubUnderTest.StartAsync(dll, data, TimeSpan.FromMinutes(10));
        await Task.Delay(Settle);
        var resident = server.ResidentBytes();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  start-up {server.Startup.TotalSeconds:F2} s, {resident / 1048576.0:F0} MiB resident = {(resident - emptyResident) / (double)dataset.Events:F0} B/event over the empty server"));

        // Steady state: the server reads a year of events into the recommendation model in the
        // background after it is ready (tens of seconds at 10M events, a core busy); questions timed
        // meanwhile would measure that load, not the queries.
        var settled = await WaitForBackgroundLoadAsync(server.Url, token);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  background start-up work (recommendation model) done {settled.TotalSeconds:F1} s after ready"));

        List<Latency> latencies;
        long peak;
        using (var sampler = new ResidentSampler(server.ResidentBytes))
        {
            latencies = await AskHubAsync(server.Url, token, options);
            peak = sampler.Peak;
        }
        var after = server.ResidentBytes();
        await Task.Delay(options.Idle);
        var steady = server.ResidentBytes();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  resident: peak {peak / 1048576.0:F0} MiB during the questions, {after / 1048576.0:F0} MiB right after, {steady / 1048576.0:F0} MiB after {options.Idle.TotalSeconds:F0} s idle = {(steady - emptyResident) / (double)dataset.Events:F0} B/event at steady state"));
        var bytes = Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        return new HubRun(latencies, new HubServer(importTime, importSummary, emptyStartup, server.Startup, emptyResident, resident, after, peak, steady, options.Idle, bytes));
    }

    /// <summary>Waits until the bought-together analysis answers 200 (it answers 503 while the model loads).</summary>
    internal static async Task<TimeSpan> WaitForBackgroundLoadAsync(string url, string token)
    {
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(1) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(10))
        {
            using var response = await client.GetAsync("/api/analysis/bought-together?limit=1");
            if (response.StatusCode == System.Net.HttpStatusCode.OK)
            {
                return clock.Elapsed;
            }
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
            {
                throw new InvalidOperationException($"GET /api/analysis/bought-together answered {(int)response.StatusCode} while waiting for the recommendation model");
            }
            await Task.Delay(200);
        }
        throw new InvalidOperationException("the recommendation model did not load within 10 minutes");
    }

    private static async Task<List<Latency>> AskHubAsync(string url, string token, QueryOptions options)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var latencies = new List<Latency>();
        foreach (var question in Questions.All)
        {
            var latency = await Latency.MeasureAsync(client, () => new HttpRequestMessage(HttpMethod.Get, question.HubPath), options.Warmup, options.Repeat);
            latencies.Add(latency);
            Console.WriteLine($"  {question.Title}: {Describe(latency)}");
        }
        return latencies;
    }

    private static async Task<ClickHouseRun> RunClickHouseAsync(string repository, DemoDataset dataset, QueryClock clock, QueryOptions options)
    {
        var (url, _, started) = ClickHouse.Ensure(repository, options.ClickHouseUrl);
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { Timeout = TimeSpan.FromMinutes(10) };
            var version = (await ClickHouseTable.QueryAsync(client, url, "SELECT version()")).Trim();
            Console.WriteLine($"ClickHouse {version}: INSERT … FORMAT JSONEachRow …");
            var load = await ClickHouseTable.LoadAsync(url, dataset.Path);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {load.Rows:N0} rows in {load.Insert.TotalSeconds:F1} s, OPTIMIZE FINAL {load.Optimize.TotalSeconds:F1} s, {load.StoredBytes / 1e6:F0} MB on disk"));
            var latencies = new List<Latency>();
            foreach (var question in Questions.All)
            {
                var sql = question.Sql(clock) + "\nFORMAT TabSeparated";
                var latency = await Latency.MeasureAsync(client, () => new HttpRequestMessage(HttpMethod.Post, url + "/") { Content = new StringContent(sql) }, options.Warmup, options.Repeat);
                latencies.Add(latency);
                Console.WriteLine($"  {question.Title}: {Describe(latency)}");
            }
            await ClickHouse.ExecAsync(url, $"DROP TABLE IF EXISTS {ClickHouseTable.Name}");
            return new ClickHouseRun(version, load, latencies);
        }
        finally
        {
            if (started)
            {
                HubProcess.Run("bash", repository, "scripts/services.sh", "stop", "clickhouse");
            }
        }
    }

    private static string Agreement(Question question, Latency? hub, Latency? clickhouse, QueryClock clock)
    {
        if (hub is null || clickhouse is null)
        {
            return "not compared (one side skipped)";
        }
        if (!hub.Available)
        {
            return hub.Problem == "not available" ? "not available" : "hub " + hub.Problem;
        }
        if (!clickhouse.Available)
        {
            return "ClickHouse " + clickhouse.Problem;
        }
        Answer? hubAnswer;
        try
        {
            using var document = JsonDocument.Parse(hub.Body);
            hubAnswer = question.FromHub(document.RootElement, clock);
        }
        catch (JsonException ex)
        {
            return $"not compared (hub answer is not JSON: {ex.Message})";
        }
        if (hubAnswer is null)
        {
            return "not compared (hub answer's shape not recognised)";
        }
        var tsv = clickhouse.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToArray();
        return Answer.Compare(hubAnswer, question.FromClickHouse(tsv, clock), question.CompareHubKeysOnly);
    }

    /// <summary>The 1-minute load average: the machine is shared, so the report says how busy it was.</summary>
    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    private static string Describe(Latency latency) => latency.Available
        ? string.Create(CultureInfo.InvariantCulture, $"median {latency.Median:F1} ms, p95 {latency.P95:F1} ms (first call {latency.FirstMilliseconds:F0} ms)")
        : latency.Problem!;

    private static void Print(IReadOnlyList<Row> rows, HubRun? hub, DemoDataset dataset)
    {
        Console.WriteLine();
        Console.WriteLine($"{"question",-46} {"hub p50",9} {"hub p95",9} {"CH p50",9} {"CH p95",9} {"ratio",7}  answers");
        foreach (var row in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Question.Title,-46} {Ms(row.Hub, l => l.Median),9} {Ms(row.Hub, l => l.P95),9} {Ms(row.ClickHouse, l => l.Median),9} {Ms(row.ClickHouse, l => l.P95),9} {QueryReport.Ratio(row),7}  {row.Agreement}"));
        }
        if (hub?.Server is { } server)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"start-up {server.Startup.TotalSeconds:F2} s; memory {server.BytesPerEvent(dataset.Events):F0} B/event at steady state (after the questions and {server.Idle.TotalSeconds:F0} s idle; {server.BytesPerEventAtStartup(dataset.Events):F0} B/event 1 s after start-up, peak {server.PeakBytesPerEvent(dataset.Events):F0} B/event during the questions)"));
        }
    }

    private static string Ms(Latency? latency, Func<Latency, double> pick) =>
        latency is { Available: true } ? pick(latency).ToString("F1", CultureInfo.InvariantCulture) : "-";
}
