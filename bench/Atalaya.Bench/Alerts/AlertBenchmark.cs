using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Atalaya.Engine;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Http;
using Atalaya.Metrics;

namespace Atalaya.Bench.Alerts;

/// <summary>
/// <c>alerts [--data DIR | --days N] [--cycles N] [--postgres CONNSTRING] [--out FILE]</c>: one alert
/// evaluation cycle of 20 rules (every kind) and one /metrics collection, on a hub filled with N days
/// of demo data or on an existing data folder (e.g. a 10M-event import). With <c>--postgres</c> the
/// alerts, the outbox and the job runs are a cluster's, in that PostgreSQL (as on a node started with
/// it). In process, no HTTP: the figures are the engine's and the exposition's cost, not Kestrel's.
/// </summary>
public static class AlertBenchmark
{
    private const string Rules = """
        environment: dev
        alerts:
          rules:
            - {name: gmv-24h, kpi: gmv, window: 24h, below: 1000000000}
            - {name: gmv-1h, kpi: gmv, window: 1h, below: 1000000000}
            - {name: orders-24h, kpi: orders, window: 24h, below: 1000000000}
            - {name: revenue-24h, kpi: revenue, window: 24h, below: 1000000000}
            - {name: leads-24h, kpi: leads, window: 24h, below: 1000000000}
            - {name: pay-1h, kpi: payments_success_rate, window: 1h, below: 101}
            - {name: gmv-mx, kpi: gmv, window: 24h, below: 1000000000, scope: {country: MX}}
            - {name: gmv-co, kpi: gmv, window: 24h, below: 1000000000, scope: {country: CO}}
            - {name: revenue-ratio, kpi: revenue, window: 24h, ratio_to_avg7d_below: 0.7}
            - {name: gmv-ratio, kpi: gmv, window: 24h, ratio_to_avg7d_below: 0.7}
            - {name: orders-ratio, kpi: orders, window: 1h, ratio_to_avg7d_below: 0.7}
            - {name: leads-ratio, kpi: leads, window: 24h, ratio_to_avg7d_below: 0.7}
            - {name: orders-z, kpi: orders, window: 1h, zscore_above: 3}
            - {name: gmv-z, kpi: gmv, window: 1h, zscore_above: 3}
            - {name: revenue-z, kpi: revenue, window: 24h, zscore_above: 3}
            - {name: leads-z, kpi: leads, window: 1h, zscore_above: 3, zscore_days: 28}
            - {name: batch-missed, pipeline: daily_batch, max_age: 26h}
            - {name: dq, quality_check: "*"}
            - {name: connectors, connector_failing_days: 2}
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine("usage: alerts [--data DIR | --days N (30)] [--cycles N (10)] [--postgres CONNSTRING] [--out FILE]");
            return 0;
        }
        var days = Option(args, "--days", 30);
        var cycles = Option(args, "--cycles", 10);
        var given = Text(args, "--data");
        var output = Text(args, "--out");
        using var postgres = Text(args, "--postgres") is { } connectionString ? Engine.Postgres.PostgresState.Open(connectionString) : null;
        using var printed = new PrintedSection();
        var directory = given ?? Path.Combine(Path.GetTempPath(), "atalaya-bench-alerts-" + Guid.NewGuid().ToString("N"));
        try
        {
            var loading = Stopwatch.StartNew();
            await using var hub = Hub.Open(directory, postgres: postgres);
            if (given is null)
            {
                var pipe = new Pipe();
                var producer = Task.Run(async () =>
                {
                    await using var stream = pipe.Writer.AsStream();
                    DemoGenerator.WriteNdjson(new DemoOptions(Days: days), stream);
                });
                await NdjsonImporter.ImportAsync(hub.Pipeline, pipe.Reader.AsStream(), "demo");
                await producer;
                Console.WriteLine($"{hub.Log.EventCount:N0} events ({days} days of demo data)");
            }
            else
            {
                Console.WriteLine($"{hub.Log.EventCount:N0} events in {given} (opened in {loading.Elapsed.TotalSeconds:F1} s)");
            }

            var config = EnvironmentFiles.Parse(Rules, "bench.yaml", "dev");
            var engine = new AlertEngine(hub.Database, hub.Kpis, AlertEngine.WithBuiltIns(AlertRuleSet.Compile(config), []), TimeSpan.FromHours(4),
                rows: hub.AlertRows, runs: hub.Jobs.Runs);
            Console.WriteLine($"Alert evaluation, {engine.Rules.Count} rules, state in {(postgres is null ? "the data folder" : $"PostgreSQL ({postgres.Server})")}: {Measure(cycles, () => engine.Evaluate())}");

            var state = new HubState();
            state.Set(hub);
            var options = new ServeOptions { DataDirectory = directory };
            var metrics = new HubMetrics(state, options, new Metrics.SloRecorder(options));
            long bytes = 0;
            Console.WriteLine($"/metrics collection: {Measure(cycles, () =>
            {
                using var buffer = new MemoryStream();
                metrics.Registry.CollectAndExportAsTextAsync(buffer).GetAwaiter().GetResult();
                bytes = buffer.Length;
            })} ({bytes:N0} bytes)");
            Console.WriteLine($"KPI gauges (recomputed every 10 s off the scrape path): {Measure(cycles, () => metrics.RefreshKpis(hub, DateTimeOffset.UtcNow))}");
            if (output is not null)
            {
                printed.Save(Path.Combine(Repository.Root(), output), "alerts", "Alert evaluation and /metrics collection", args);
            }
            return 0;
        }
        finally
        {
            if (given is null)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>One warm-up run, then <paramref name="n"/> timed runs: median, p95 (nearest rank) and max in ms.</summary>
    private static string Measure(int n, Action run)
    {
        run();
        var ms = new List<double>();
        for (var i = 0; i < n; i++)
        {
            var started = Stopwatch.GetTimestamp();
            run();
            ms.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        ms.Sort();
        var p95 = ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(0.95 * ms.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"median {ms[ms.Count / 2]:F1} ms, p95 {p95:F1} ms, max {ms[^1]:F1} ms over {n} runs");
    }

    private static string? Text(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
