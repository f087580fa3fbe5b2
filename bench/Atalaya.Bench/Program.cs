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

if (args.Length > 0 && args[0] == "restart")
{
    return await Atalaya.Bench.Restart.RestartBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "mixed")
{
    return await Atalaya.Bench.Mixed.MixedBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "health")
{
    return await Atalaya.Bench.Health.HealthBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "erase")
{
    return await Atalaya.Bench.Privacy.EraseBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "cluster-ingest")
{
    return await Atalaya.Bench.Cluster.ClusterIngestBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "cluster-query")
{
    return await Atalaya.Bench.ClusterQuery.ClusterQueryBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "reconciliation")
{
    return await Atalaya.Bench.ClusterQuery.ReconciliationCost.RunAsync(args);
}

if (args.Length > 0 && args[0] == "queue")
{
    return await Atalaya.Bench.Queue.QueueBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "ch-insert")
{
    return await Atalaya.Bench.ClickHouseInsert.ClickHouseInsertBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "tokens")
{
    return Atalaya.Bench.Tokens.TokenLookupBenchmark.Run(args);
}

if (args.Length > 0 && args[0] == "audit")
{
    return await Atalaya.Bench.Audit.AuditAppendBenchmark.RunAsync(args);
}

if (args.Length > 0 && args[0] == "marts")
{
    return await Atalaya.Bench.Marts.MartBenchmark.RunAsync(args);
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
               dotnet run -c Release --project bench/Atalaya.Bench -- restart [--events N] [--after-snapshot N] [--runs N] [--out FILE]   (start-up after a crash)
               dotnet run -c Release --project bench/Atalaya.Bench -- mixed [--events N] [--duration S] [--out FILE]   (reads while 2 writers post)
               dotnet run -c Release --project bench/Atalaya.Bench -- stages [--events N] [--batch N] [--out FILE]
               dotnet run -c Release --project bench/Atalaya.Bench -- delays [--trials N] [--out FILE]
               dotnet run -c Release --project bench/Atalaya.Bench -- alerts [--days N] [--cycles N] [--postgres CONNSTRING]   (20 alert rules, /metrics)
               dotnet run -c Release --project bench/Atalaya.Bench -- report [--data DIR] [--days N] [--sessions-per-day N] [--runs N]
               dotnet run -c Release --project bench/Atalaya.Bench -- recs [--days N] [--sessions-per-day N] [--scale K] [--calls N] [--out FILE]
               dotnet run -c Release --project bench/Atalaya.Bench -- health [--findings N] [--calls N]   (the data-quality state of an answer)
               dotnet run -c Release --project bench/Atalaya.Bench -- ch-insert [--events N] [--batch N] [--ndjson FILE]   (the ClickHouse event writer, docs/scale-out.md)
               dotnet run -c Release --project bench/Atalaya.Bench -- erase [--events N] [--days N] [--seed S]   (one person's erasure, docs/privacy.md)
               dotnet run -c Release --project bench/Atalaya.Bench -- cluster-ingest [--events N] [--batch N] [--connections N] [--out FILE]   (a cluster node, docs/scale-out.md)
               dotnet run -c Release --project bench/Atalaya.Bench -- cluster-query [--events N] [--loads N] [--repeat N] [--out FILE]   (the query questions on a cluster node vs the embedded hub, docs/scale-out.md)
               dotnet run -c Release --project bench/Atalaya.Bench -- queue [--messages N] [--batch N] [--out FILE]   (publish with confirm to RabbitMQ, docs/scale-out.md)

          --events N          events to send (default 2000000)
          --batch N           events per request (default 5000)
          --connections N     concurrent clients, one connection each (default 4)
          --clickhouse-url U  an already running ClickHouse HTTP endpoint (default: start one with scripts/services.sh)
          --skip-clickhouse   measure the hub only
          --client C          the load generator: bench (this program, keep-alive connections), curl (one curl
                              process a request, xargs -P), or both, one after the other on fresh servers (default both)
          --label TEXT        a note kept with the run in the table of runs (e.g. "development run, shared machine")
          --out FILE          add the run to the ingest section of FILE (e.g. docs/benchmarks.md); every run is kept
        """);
    return args.Contains("--help") || args.Contains("-h") ? 0 : 2;
}

return await Atalaya.Bench.Ingest.IngestBenchmark.RunAsync(options);
