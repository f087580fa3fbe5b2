using System.Diagnostics;
using System.Globalization;
using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Bench.Tokens;

/// <summary>
/// What a token lookup costs when the one-second cache has lapsed (the case every node pays once a
/// second per token in use), on the data folder's SQLite and on a cluster's PostgreSQL: the same
/// <see cref="TokenStore"/> over each, its clock moved past the cache before every lookup. A cached
/// lookup touches no database and is not measured.
/// </summary>
public static class TokenLookupBenchmark
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- tokens --postgres CONNSTRING [--lookups N] [--tokens N]

          --postgres CONNSTRING  an empty PostgreSQL database (scripts/services.sh start postgres prints one)
          --lookups N            timed lookups on each store (default 2000, after 200 untimed)
          --tokens N             tokens in each store (default 1000)
        """;

    public static int Run(string[] args)
    {
        if (PostgresBenchArgs.Parse(args, Usage, new Dictionary<string, int> { ["--lookups"] = 2000, ["--tokens"] = 1000 }, out var exitCode) is not { } parsed)
        {
            return exitCode;
        }
        var postgres = parsed.Postgres;
        var lookups = parsed.Counts["--lookups"];
        var tokens = parsed.Counts["--tokens"];

        var folder = Path.Combine(Path.GetTempPath(), "atalaya-bench-tokens-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var state = PostgresState.Open(postgres);
            Console.WriteLine($"{tokens} tokens per store, {lookups} timed lookups each, cache lapsed before every lookup");
            Console.WriteLine("| store | p50 µs | p95 µs | p99 µs | max µs |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var (name, open) in new (string, Func<TimeProvider, TokenStore>)[]
            {
                ("SQLite (data folder)", clock => new TokenStore(HubDatabase.Open(folder), clock)),
                ("PostgreSQL (loopback)", clock => new TokenStore(state, clock)),
            })
            {
                var clock = new SteppingClock();
                var store = open(clock);
                var secrets = Enumerable.Range(0, tokens).Select(i => store.Create(new TokenRequest(Role.Analyst, $"bench {i}")).Secret).ToArray();
                var micros = new double[lookups];
                for (var i = -200; i < lookups; i++)
                {
                    clock.Step();
                    var started = Stopwatch.GetTimestamp();
                    if (store.Authenticate(secrets[(i + 200) % secrets.Length]) is null)
                    {
                        throw new InvalidOperationException("a created token did not authenticate");
                    }
                    if (i >= 0)
                    {
                        micros[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
                    }
                }
                Array.Sort(micros);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {At(micros, 0.50):F0} | {At(micros, 0.95):F0} | {At(micros, 0.99):F0} | {micros[^1]:F0} |"));
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

    private static double At(double[] sorted, double quantile) => sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];

    /// <summary>The real clock, moved past the token cache's second at every step.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private TimeSpan _offset;

        public void Step() => _offset += TimeSpan.FromSeconds(2);

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + _offset;
    }
}
