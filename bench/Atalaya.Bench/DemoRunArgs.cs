using System.Globalization;
using Atalaya.Bench.Query;

namespace Atalaya.Bench;

/// <summary>
/// The options of the benchmarks that run a hub over the query benchmark's demo data (restart,
/// mixed, erase): <c>--events</c>, <c>--days</c>, <c>--seed</c>, <c>--cache</c> and <c>--out</c>
/// parsed once here, each benchmark's own options given as handlers that take the value and say
/// whether it is valid.
/// </summary>
internal sealed class DemoRunArgs
{
    public long Events { get; private set; } = 1_000_000;

    public int Days { get; private set; } = 120;

    public int Seed { get; private set; } = 42;

    public string Cache { get; private set; } = Path.Combine(Path.GetTempPath(), "atalaya-bench-cache");

    /// <summary>The file to write the benchmark's section into (e.g. docs/benchmarks.md), if any.</summary>
    public string? Output { get; private set; }

    /// <summary>The demo data these options ask for, as the query benchmark builds and caches it.</summary>
    public QueryOptions Dataset => new(Events, Days, Seed, 0, 1, Cache, null, null, null, false, true, null);

    /// <summary>
    /// Parses <c>args[1..]</c> (args[0] is the benchmark's name). Null, with the usage printed and
    /// <paramref name="exitCode"/> 0 for <c>--help</c> and 2 for anything wrong or unknown, when the
    /// benchmark should not run.
    /// </summary>
    public static DemoRunArgs? Parse(string[] args, string usage, IReadOnlyDictionary<string, Func<string, bool>> own, out int exitCode)
    {
        var options = new DemoRunArgs();
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--events" when long.TryParse(value, CultureInfo.InvariantCulture, out var events) && events >= 1000:
                    options.Events = events;
                    break;
                case "--days" when int.TryParse(value, CultureInfo.InvariantCulture, out var days) && days >= 7:
                    options.Days = days;
                    break;
                case "--seed" when int.TryParse(value, CultureInfo.InvariantCulture, out var seed):
                    options.Seed = seed;
                    break;
                case "--cache" when value is { Length: > 0 }:
                    options.Cache = value;
                    break;
                case "--out" when value is not null:
                    options.Output = value;
                    break;
                case var name when value is not null && own.TryGetValue(name, out var handle) && handle(value):
                    break;
                default:
                    Console.WriteLine(usage);
                    exitCode = args[i] is "--help" or "-h" ? 0 : 2;
                    return null;
            }
            i++;
        }
        exitCode = 0;
        return options;
    }
}
