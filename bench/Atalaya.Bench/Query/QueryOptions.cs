using System.Globalization;

namespace Atalaya.Bench.Query;

/// <summary>The arguments of <c>query</c>; null from <see cref="Parse"/> when they ask for help or are not understood.</summary>
public sealed record QueryOptions(
    long Events,
    int Days,
    int Seed,
    int Warmup,
    int Repeat,
    string CacheDirectory,
    string? ClickHouseUrl,
    string? HubUrl,
    string? HubToken,
    bool SkipHub,
    bool SkipClickHouse,
    string? Out,
    int? Products = null)
{
    /// <summary>How long the hub is left without requests before its steady-state memory is read (<c>--idle</c>).</summary>
    public TimeSpan Idle { get; init; } = TimeSpan.FromSeconds(10);

    public string CommandLine { get; init; } = "";

    public static QueryOptions? Parse(string[] args)
    {
        if (args.Length == 0 || args[0] != "query")
        {
            return null;
        }
        var options = new QueryOptions(1_000_000, 120, 42, 3, 20, Path.Combine(Path.GetTempPath(), "atalaya-bench-cache"), null, null, null, false, false, null)
        {
            CommandLine = "dotnet run -c Release --project bench/Atalaya.Bench -- " + string.Join(' ', args),
        };
        for (var i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--events" => options with { Events = long.Parse(Next(), CultureInfo.InvariantCulture) },
                "--days" => options with { Days = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--seed" => options with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--warmup" => options with { Warmup = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--repeat" => options with { Repeat = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--cache" => options with { CacheDirectory = Next() },
                "--clickhouse-url" => options with { ClickHouseUrl = Next() },
                "--hub-url" => options with { HubUrl = Next().TrimEnd('/') },
                "--hub-token" => options with { HubToken = Next() },
                "--skip-hub" => options with { SkipHub = true },
                "--skip-clickhouse" => options with { SkipClickHouse = true },
                "--out" => options with { Out = Next() },
                "--idle" => options with { Idle = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)) },
                "--products" => options with { Products = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--catalog" => Next() == "large" ? options with { Products = LargeCatalog } : null,
                _ => null,
            };
            if (options is null)
            {
                return null;
            }
        }
        return options.Events >= 1000 && options.Days >= 7 && options.Repeat >= 1 && options.Warmup >= 0 && options.Idle >= TimeSpan.Zero && options.Products is null or >= 1 ? options : null;
    }

    /// <summary>Products of <c>--catalog large</c>: the catalog size of issue 17's top-products measurement.</summary>
    public const int LargeCatalog = 20_000;

    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- query [options]

          --events N          events to generate with `atalaya demo` (default 1000000; 10000000 for the large run)
          --days N            days of history ending today (default 120)
          --seed S            demo seed (default 42)
          --products N        a catalog of N products shared among the stores (`atalaya demo --products N`; default: 10-30 a store, about 800)
          --catalog large     the same as --products 20000
          --warmup N          untimed calls before timing each question (default 3)
          --repeat N          timed calls per question (default 20)
          --cache DIR         where the generated NDJSON is kept and reused (default /tmp/atalaya-bench-cache)
          --clickhouse-url U  an already running ClickHouse HTTP endpoint (default: start one with scripts/services.sh)
          --hub-url U         ask an already running hub loaded with the same data (no import, start-up or memory figures)
          --hub-token T       its admin token (with --hub-url)
          --skip-hub          measure ClickHouse only
          --skip-clickhouse   measure the hub only
          --idle S            seconds without requests before the steady-state memory is read, on the
                              loaded and on the empty server (default 10; the hub trims its heap after 5 s idle)
          --out FILE          write the results section into FILE (e.g. docs/benchmarks.md)
        """;
}
