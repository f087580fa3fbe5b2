using System.Globalization;
using Atalaya.Bench;
using Atalaya.Bench.Query;

// Benchmarks beside the code (not tests): figures go to docs/benchmarks.md with the machine,
// the data size and the command. See docs/benchmarks.md for how to run them.
if (args.Length > 0 && args[0] == "query")
{
    if (QueryOptions.Parse(args) is { } queryOptions)
    {
        return await QueryBenchmark.RunAsync(queryOptions);
    }
    Console.WriteLine(QueryOptions.Usage);
    return args.Contains("--help") || args.Contains("-h") ? 0 : 2;
}

if (args.Length > 0 && args[0] == "delays")
{
    return await Atalaya.Bench.Delays.DelayBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "alerts")
{
    return await Atalaya.Bench.Alerts.AlertBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "report")
{
    return await Atalaya.Bench.Reports.ReportBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "recs")
{
    return await Atalaya.Bench.Recommendations.RecommendationBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "erase")
{
    return await Atalaya.Bench.Privacy.EraseBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "stages")
{
    return await Atalaya.Bench.Stages.StageBenchmark.RunAsync(args);
}

var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.WriteLine("""
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- ingest [options]
               dotnet run -c Release --project bench/Atalaya.Bench -- query [options]   (query --help for its options)
               dotnet run -c Release --project bench/Atalaya.Bench -- stages [--events N] [--batch N] [--out FILE]
               dotnet run -c Release --project bench/Atalaya.Bench -- delays [--trials N] [--out FILE]
               dotnet run -c Release --project bench/Atalaya.Bench -- alerts [--days N] [--cycles N]   (20 alert rules, /metrics)
               dotnet run -c Release --project bench/Atalaya.Bench -- report [--data DIR] [--days N] [--sessions-per-day N] [--runs N]
               dotnet run -c Release --project bench/Atalaya.Bench -- recs [--days N] [--sessions-per-day N] [--scale K] [--calls N] [--out FILE]
               dotnet run -c Release --project bench/Atalaya.Bench -- erase [--events N] [--days N] [--seed S]   (one person's erasure, docs/privacy.md)

          --events N          events to send (default 2000000)
          --batch N           events per request (default 5000)
          --connections N     concurrent clients, one connection each (default 4)
          --clickhouse-url U  an already running ClickHouse HTTP endpoint (default: start one with scripts/services.sh)
          --skip-clickhouse   measure the hub only
          --out FILE          write the results section into FILE (e.g. docs/benchmarks.md)
        """);
    return args.Contains("--help") || args.Contains("-h") ? 0 : 2;
}

var repository = Repository.Root();
Console.WriteLine($"Generating {options.Events:N0} events in batches of {options.Batch:N0} …");
var generated = EventFactory.Generate(options.Events, options.Batch, seed: 7);
Console.WriteLine($"  hub bodies {generated.HubBytes / 1e6:F0} MB (~{generated.HubBytes / options.Events} B/event), ClickHouse bodies {generated.ClickHouseBytes / 1e6:F0} MB");

Console.WriteLine("Hub: atalaya serve (Release), POST /api/events …");
Load.Result hubResult;
double hubMemory, hubCpu;
long hubDisk;
await using (var hub = await HubProcess.StartAsync(repository))
{
    var cpuBefore = Load.CpuSeconds(hub.Pid);
    hubResult = await Load.RunAsync(generated.HubBodies, options.Connections, Load.Hub(hub.Url, hub.WriteKey));
    hubCpu = Load.CpuSeconds(hub.Pid) - cpuBefore;
    hubMemory = Load.PeakMemoryMiB(hub.Pid);
    hubDisk = hub.DatabaseBytes();
}
Print("hub", hubResult, hubMemory, hubCpu);

Load.Result? chResult = null;
double chMemory = double.NaN, chCpu = double.NaN;
if (!options.SkipClickHouse)
{
    var (url, pid, started) = ClickHouse.Ensure(repository, options.ClickHouseUrl);
    try
    {
        await ClickHouse.ExecAsync(url, "DROP TABLE IF EXISTS bench_events");
        await ClickHouse.ExecAsync(url, """
            CREATE TABLE bench_events (event_id String, event_type String, timestamp DateTime, session_id String, user_id String,
              country String, source String, platform String, user_agent String, page_url String, properties String)
            ENGINE = MergeTree ORDER BY (event_type, timestamp)
            """);
        Console.WriteLine("ClickHouse: INSERT … FORMAT JSONEachRow …");
        var cpuBefore = pid is int before ? Load.CpuSeconds(before) : double.NaN;
        chResult = await Load.RunAsync(generated.ClickHouseBodies, options.Connections, Load.ClickHouse(url));
        chCpu = pid is int after ? Load.CpuSeconds(after) - cpuBefore : double.NaN;
        chMemory = pid is int p ? Load.PeakMemoryMiB(p) : double.NaN;
        Print("clickhouse", chResult, chMemory, chCpu);
        await ClickHouse.ExecAsync(url, "DROP TABLE IF EXISTS bench_events");
    }
    finally
    {
        if (started)
        {
            HubProcess.Run("bash", repository, "scripts/services.sh", "stop", "clickhouse");
        }
    }
}

var hubRate = hubResult.Rows / hubResult.Seconds;
var chRate = chResult is null ? double.NaN : chResult.Rows / chResult.Seconds;
if (!double.IsNaN(chRate))
{
    Console.WriteLine($"ratio hub / ClickHouse: {hubRate / chRate:F2}×");
}
if (options.Out is { } output)
{
    Report.WriteIngest(Path.Combine(repository, output), options, generated, hubResult, hubMemory, hubCpu, hubDisk, chResult, chMemory, chCpu);
    Console.WriteLine($"Wrote the ingest section of {output}.");
}
return hubResult.Failures == 0 && (chResult?.Failures ?? 0) == 0 ? 0 : 1;

static void Print(string name, Load.Result result, double memory, double cpu) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"  {name}: {result.Rows:N0} rows in {result.Seconds:F2} s = {result.Rows / result.Seconds:N0} rows/s; server CPU {cpu:F1} s ({cpu * 1e6 / result.Rows:F1} µs/row); peak memory {memory:F0} MiB; failures {result.Failures}{(result.FirstFailure is null ? "" : " (" + result.FirstFailure + ")")}"));
