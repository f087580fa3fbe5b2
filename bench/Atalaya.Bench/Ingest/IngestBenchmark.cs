using System.Globalization;

namespace Atalaya.Bench.Ingest;

/// <summary>
/// Ingest over HTTP, hub vs ClickHouse: the same generated events (<see cref="EventFactory"/>) posted
/// to a fresh hub (<c>POST /api/events</c>) and to a fresh ClickHouse table (<c>INSERT … FORMAT
/// JSONEachRow</c>), one server at a time, by each chosen load generator. Server CPU per row is
/// the server process's user + system time over the rows stored.
/// </summary>
public static class IngestBenchmark
{
    /// <summary>One load generator's figures on both servers.</summary>
    public sealed record ClientRun(string Client, Load.Result Hub, double HubCpu, double HubMemory, long HubDisk, Load.Result? ClickHouse, double ClickHouseCpu, double ClickHouseMemory)
    {
        public double Ratio => ClickHouse is null ? double.NaN : Hub.Rows / Hub.Seconds / (ClickHouse.Rows / ClickHouse.Seconds);
    }

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var repository = Repository.Root();
        var loadBefore = LoadAverage();
        Console.WriteLine($"Generating {options.Events:N0} events in batches of {options.Batch:N0} …");
        var generated = EventFactory.Generate(options.Events, options.Batch, seed: 7);
        var rowsPerBody = Enumerable.Range(0, generated.HubBodies.Count).Select(i => Math.Min(options.Batch, options.Events - i * options.Batch)).ToList();
        Console.WriteLine($"  hub bodies {generated.HubBytes / 1e6:F0} MB (~{generated.HubBytes / options.Events} B/event), ClickHouse bodies {generated.ClickHouseBytes / 1e6:F0} MB; {EventFactory.UserAgents.Count} user agents");

        string? clickhouseUrl = null;
        int? clickhousePid = null;
        var startedClickHouse = false;
        var runs = new List<ClientRun>();
        try
        {
            if (!options.SkipClickHouse)
            {
                (clickhouseUrl, clickhousePid, startedClickHouse) = ClickHouse.Ensure(repository, options.ClickHouseUrl);
            }
            foreach (var client in options.Clients)
            {
                Console.WriteLine($"Client {client}: hub, atalaya serve ({HubBuild.Kind}), POST /api/events …");
                Load.Result hubResult;
                double hubMemory, hubCpu;
                long hubDisk;
                await using (var hub = await HubProcess.StartAsync(repository))
                {
                    var cpuBefore = Load.CpuSeconds(hub.Pid);
                    hubResult = client == "curl"
                        ? await CurlLoad.RunAsync(generated.HubBodies, rowsPerBody, options.Connections, hub.Url + "/api/events", "application/json", hub.WriteKey)
                        : await Load.RunAsync(generated.HubBodies, options.Connections, Load.Hub(hub.Url, hub.WriteKey), hub.Pid);
                    hubCpu = Load.CpuSeconds(hub.Pid) - cpuBefore;
                    hubMemory = Load.PeakMemoryMiB(hub.Pid);
                    hubDisk = hub.DatabaseBytes();
                }
                Print("hub", hubResult, hubMemory, hubCpu);

                Load.Result? chResult = null;
                double chMemory = double.NaN, chCpu = double.NaN;
                if (clickhouseUrl is { } url)
                {
                    await ClickHouse.ExecAsync(url, "DROP TABLE IF EXISTS bench_events");
                    await ClickHouse.ExecAsync(url, """
                        CREATE TABLE bench_events (event_id String, event_type String, timestamp DateTime, session_id String, user_id String,
                          country String, source String, platform String, user_agent String, page_url String, properties String)
                        ENGINE = MergeTree ORDER BY (event_type, timestamp)
                        """);
                    Console.WriteLine($"Client {client}: ClickHouse, INSERT … FORMAT JSONEachRow …");
                    var cpuBefore = clickhousePid is int before ? Load.CpuSeconds(before) : double.NaN;
                    chResult = client == "curl"
                        ? await CurlLoad.RunAsync(generated.ClickHouseBodies, rowsPerBody, options.Connections,
                            url + "/?query=" + Uri.EscapeDataString("INSERT INTO bench_events FORMAT JSONEachRow"), "application/x-ndjson", null)
                        : await Load.RunAsync(generated.ClickHouseBodies, options.Connections, Load.ClickHouse(url), clickhousePid);
                    chCpu = clickhousePid is int after ? Load.CpuSeconds(after) - cpuBefore : double.NaN;
                    chMemory = clickhousePid is int p ? Load.PeakMemoryMiB(p) : double.NaN;
                    Print("clickhouse", chResult, chMemory, chCpu);
                    await ClickHouse.ExecAsync(url, "DROP TABLE IF EXISTS bench_events");
                }
                var run = new ClientRun(client, hubResult, hubCpu, hubMemory, hubDisk, chResult, chCpu, chMemory);
                if (!double.IsNaN(run.Ratio))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio hub / ClickHouse ({client} client): {run.Ratio:F2}×"));
                    if (hubResult.SecondHalf.Rows > 0 && chResult!.SecondHalf.Rows > 0)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"ratio of the second halves alone: {hubResult.SecondHalf.Rows / hubResult.SecondHalf.Seconds / (chResult.SecondHalf.Rows / chResult.SecondHalf.Seconds):F2}×"));
                    }
                }
                runs.Add(run);
            }
        }
        finally
        {
            if (startedClickHouse)
            {
                HubProcess.Run("bash", repository, "scripts/services.sh", "stop", "clickhouse");
            }
        }
        if (options.Out is { } output)
        {
            Report.WriteIngest(Path.Combine(repository, output), options, generated, runs, (loadBefore, LoadAverage()));
            Console.WriteLine($"Added the run to the ingest section of {output}.");
        }
        return runs.All(r => r.Hub.Failures == 0 && (r.ClickHouse?.Failures ?? 0) == 0) ? 0 : 1;
    }

    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    private static void Print(string name, Load.Result result, double memory, double cpu) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {name}: {result.Rows:N0} rows in {result.Seconds:F2} s = {result.Rows / result.Seconds:N0} rows/s; server CPU {cpu:F1} s ({cpu * 1e6 / result.Rows:F1} µs/row); peak memory {memory:F0} MiB; failures {result.Failures}{(result.FirstFailure is null ? "" : " (" + result.FirstFailure + ")")}{(result.SecondHalf.Rows > 0 ? "\n    " + result.SecondHalfText : "")}"));
}
