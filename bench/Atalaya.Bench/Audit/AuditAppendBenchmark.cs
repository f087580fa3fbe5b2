using System.Diagnostics;
using System.Globalization;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Bench.Audit;

/// <summary>
/// What the audit log costs on the data folder's SQLite and on a cluster's PostgreSQL: the latency
/// of an administrative change's entry (committed before its answer, one at a time) and the rate of
/// served reads' entries (group-committed within the read window), with one writer and, on
/// PostgreSQL, with two writers (two nodes) appending to one chain. Every chain is verified after.
/// </summary>
public static class AuditAppendBenchmark
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- audit --postgres CONNSTRING [--changes N] [--reads N]

          --postgres CONNSTRING  an empty PostgreSQL database (scripts/services.sh start postgres prints one)
          --changes N            timed change entries on each store, one after another (default 500, after 50 untimed)
          --reads N              served-read entries queued on each store (default 20000)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (PostgresBenchArgs.Parse(args, Usage, new Dictionary<string, int> { ["--changes"] = 500, ["--reads"] = 20000 }, out var exitCode) is not { } parsed)
        {
            return exitCode;
        }
        var postgres = parsed.Postgres;
        var changes = parsed.Counts["--changes"];
        var reads = parsed.Counts["--reads"];

        var folder = Path.Combine(Path.GetTempPath(), "atalaya-bench-audit-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var state = PostgresState.Open(postgres);
            using var otherNode = PostgresState.Open(postgres);
            Console.WriteLine($"load average at the start: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            Console.WriteLine($"{changes} change entries one after another (after 50 untimed); {reads:N0} served-read entries queued at once");
            Console.WriteLine("| store | writers | change p50 µs | change p95 µs | change p99 µs | reads/s | chain verified |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
            var database = HubDatabase.Open(folder);
            await MeasureAsync("SQLite (data folder)", [new AuditLog(database)], () => Verify(database), changes, reads);
            await MeasureAsync("PostgreSQL (loopback)", [new AuditLog(state)], () => AuditLog.Verify(state), changes, reads);
            await MeasureAsync("PostgreSQL (loopback)", [new AuditLog(state), new AuditLog(otherNode)], () => AuditLog.Verify(state), changes, reads);
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

    private static AuditVerification Verify(HubDatabase database)
    {
        using var connection = database.Connect();
        return AuditLog.Verify(connection);
    }

    /// <summary>Each writer appends its share of the changes one after another, all writers at once; then the reads.</summary>
    private static async Task MeasureAsync(string name, AuditLog[] logs, Func<AuditVerification> verify, int changes, int reads)
    {
        var entry = new AuditEntry(DateTimeOffset.UtcNow, "tok_bench", "admin", "POST /api/tokens", """{"role":"analyst"}""", "{}", "{}", 1, 201);
        foreach (var log in logs)
        {
            for (var i = 0; i < 50; i++)
            {
                await log.AppendAsync(entry);
            }
        }
        var perWriter = changes / logs.Length;
        var timings = await Task.WhenAll(logs.Select(log => Task.Run(async () =>
        {
            var micros = new double[perWriter];
            for (var i = 0; i < perWriter; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await log.AppendAsync(entry);
                micros[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
            return micros;
        })));
        var all = timings.SelectMany(t => t).Order().ToArray();

        var read = entry with { Action = "GET /api/kpi/query", Status = 200 };
        var before = logs.Sum(l => l.Committed);
        var clock = Stopwatch.StartNew();
        foreach (var (log, i) in logs.Select((l, i) => (l, i)))
        {
            for (var n = i; n < reads; n += logs.Length)
            {
                log.AppendLater(read);
            }
        }
        await Task.WhenAll(logs.Select(l => l.FlushAsync()));
        var elapsed = clock.Elapsed;
        if (logs.Sum(l => l.Committed) - before != reads)
        {
            throw new InvalidOperationException("not every read entry was committed");
        }
        foreach (var log in logs)
        {
            await log.DisposeAsync();
        }
        var verified = verify();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {logs.Length} | {At(all, 0.50):F0} | {At(all, 0.95):F0} | {At(all, 0.99):F0} | {reads / elapsed.TotalSeconds:N0} | {(verified.Intact ? $"intact, {verified.Checked:N0} entries" : $"BROKEN at {verified.BrokenAt}")} |"));
    }

    private static double At(double[] sorted, double quantile) => sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];
}
