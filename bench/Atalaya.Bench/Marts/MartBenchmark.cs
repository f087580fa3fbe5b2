using System.Diagnostics;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Postgres;

namespace Atalaya.Bench.Marts;

/// <summary>
/// What the D+1 batch costs where the marts live: one hub filled with a generated marketplace, its
/// batch building every mart from empty and then, its watermarks forgotten, recomputing every day
/// with nothing to change (the MERGE compares every row and writes none), into the data folder's SQLite and into a cluster's PostgreSQL on loopback.
/// The rows are computed by the same KPI engine both times: the difference is the writing.
/// </summary>
public static class MartBenchmark
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- marts --postgres CONNSTRING [--days N] [--sessions N]

          --postgres CONNSTRING  an empty PostgreSQL database (scripts/services.sh start postgres prints one)
          --days N               days of the generated marketplace, ending yesterday (default 30)
          --sessions N           sessions a day (default 400)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (PostgresBenchArgs.Parse(args, Usage, new Dictionary<string, int> { ["--days"] = 30, ["--sessions"] = 400 }, out var exitCode) is not { } parsed)
        {
            return exitCode;
        }
        var folder = Path.Combine(Path.GetTempPath(), "atalaya-bench-marts-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var state = PostgresState.Open(parsed.Postgres);
            await using var hub = Hub.Open(folder);
            using (var ndjson = new MemoryStream())
            {
                DemoGenerator.WriteNdjson(new DemoOptions(Days: parsed.Counts["--days"], Seed: 3, EndDate: DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1),
                    SessionsPerDay: parsed.Counts["--sessions"]), ndjson);
                ndjson.Position = 0;
                await NdjsonImporter.ImportAsync(hub.Pipeline, ndjson, "bench");
            }
            Console.WriteLine($"load average at the start: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            Console.WriteLine($"{hub.Kpis.Projection.Count:N0} events over {parsed.Counts["--days"]} days");
            Console.WriteLine("| marts in | first build s | rows written | rebuild, nothing changed, s | rows written |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            var events = new StoredEventPositions(hub.Database, hub.Kpis);
            foreach (var (name, store) in new[] { ("SQLite (data folder)", MartStore.Sqlite(hub.Database)), ("PostgreSQL (loopback)", MartStore.Postgres(state)) })
            {
                var batch = new MartBatch(store, hub.Kpis, events);
                var (first, firstRows) = Time(() => batch.Run("run_bench_first"));
                // Without watermarks the next run recomputes every day and compares every row with the stored one.
                store.Run(connection =>
                {
                    using var forget = connection.CreateCommand();
                    forget.CommandText = "DELETE FROM mart_state;";
                    return forget.ExecuteNonQuery();
                });
                var (again, againRows) = Time(() => batch.Run("run_bench_again"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {first:F2} | {firstRows:N0} | {again:F2} | {againRows:N0} |"));
            }
            Console.WriteLine($"load average at the end: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            return 0;
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static (double Seconds, long Rows) Time(Func<IReadOnlyList<StepOutcome>> run)
    {
        var clock = Stopwatch.StartNew();
        var steps = run();
        var failed = steps.FirstOrDefault(s => !s.Succeeded);
        if (failed is not null)
        {
            throw new InvalidOperationException($"{failed.Step}: {failed.Error}");
        }
        return (clock.Elapsed.TotalSeconds, steps.Sum(s => s.Records));
    }
}
