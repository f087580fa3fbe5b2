using System.Globalization;
using Atalaya.Bench.Query;

namespace Atalaya.Bench.ClusterQuery;

/// <summary>The arguments of <c>cluster-query</c>; null from <see cref="Parse"/> when they ask for help or are not understood.</summary>
public sealed record ClusterQueryOptions(long Events, int Days, int Seed, int Warmup, int Repeat, string CacheDirectory, TimeSpan Idle, string? Out, int Loads = 3)
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- cluster-query [options]

        The query benchmark's questions asked of an embedded hub and of a cluster node (ClickHouse +
        RabbitMQ, docs/scale-out.md) holding the same events, side by side, every answer compared.

          --events N    events to generate with `atalaya demo` (default 1000000; the query benchmark's cache is reused)
          --days N      days of history ending today (default 120)
          --seed S      demo seed (default 42)
          --warmup N    untimed calls before timing each question on each side (default 3)
          --repeat N    timed calls per question and side (default 20)
          --cache DIR   where the generated NDJSON is kept and reused (default /tmp/atalaya-bench-cache)
          --loads N     fresh nodes started one after the other to time the load from ClickHouse (default 3)
          --idle S      seconds without requests before the resident memory after the questions is read (default 10)
          --out FILE    write the results section into FILE (e.g. docs/benchmarks.md)
        """;

    /// <summary>"100k", "1M": the name of this size's block in docs/benchmarks.md.</summary>
    public string Label => Events >= 1_000_000
        ? (Events / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M"
        : (Events / 1e3).ToString("0", CultureInfo.InvariantCulture) + "k";

    /// <summary>The same data as <c>query --events N --days D --seed S</c>: both read one cache.</summary>
    public QueryOptions Dataset => new(Events, Days, Seed, Warmup, Repeat, CacheDirectory, null, null, null, false, false, null);

    public static ClusterQueryOptions? Parse(string[] args)
    {
        var options = new ClusterQueryOptions(1_000_000, 120, 42, 3, 20, Path.Combine(Path.GetTempPath(), "atalaya-bench-cache"), TimeSpan.FromSeconds(10), null);
        for (var i = 1; i < args.Length; i++)
        {
            if (i + 1 >= args.Length)
            {
                return null;
            }
            var value = args[++i];
            var c = CultureInfo.InvariantCulture;
            options = args[i - 1] switch
            {
                "--events" when long.TryParse(value, c, out var events) => options with { Events = events },
                "--days" when int.TryParse(value, c, out var days) => options with { Days = days },
                "--seed" when int.TryParse(value, c, out var seed) => options with { Seed = seed },
                "--warmup" when int.TryParse(value, c, out var warmup) => options with { Warmup = warmup },
                "--repeat" when int.TryParse(value, c, out var repeat) => options with { Repeat = repeat },
                "--cache" => options with { CacheDirectory = value },
                "--loads" when int.TryParse(value, c, out var loads) => options with { Loads = loads },
                "--idle" when double.TryParse(value, c, out var idle) => options with { Idle = TimeSpan.FromSeconds(idle) },
                "--out" => options with { Out = value },
                _ => null,
            };
            if (options is null)
            {
                return null;
            }
        }
        return options.Events >= 1000 && options.Days >= 7 && options.Repeat >= 1 && options.Warmup >= 0 && options.Loads >= 1 && options.Idle >= TimeSpan.Zero ? options : null;
    }
}
