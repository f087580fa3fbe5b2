using System.Diagnostics;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Reports;

namespace Atalaya.Bench.Reports;

/// <summary>
/// <c>report</c>: how long the monthly report takes to build (every query, the HTML and its charts)
/// over a data folder, for the whole platform, one country and one store. The folder is either given
/// (<c>--data DIR</c>, e.g. one a query benchmark left) or filled with demo events
/// (<c>--days</c>, <c>--sessions-per-day</c>); the KPI engine is loaded first and not timed.
/// </summary>
public static class ReportBenchmark
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- report [--data DIR] [--days N] [--sessions-per-day N] [--runs N] [--out FILE]

          --data DIR              an existing data folder (default: a temporary one filled with demo events)
          --days N                days of demo events ending today (default 62: last month is whole)
          --sessions-per-day N    demo sessions per day (default 1200, about 320k events over 62 days)
          --runs N                timed builds per scope after one warm-up (default 5)
          --out FILE              write what it printed as the report section of FILE (e.g. docs/benchmarks.md)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        string? data = null, output = null;
        int days = 62, sessions = 1200, runs = 5;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--data": data = value; i++; break;
                case "--out": output = value; i++; break;
                case "--days" when int.TryParse(value, CultureInfo.InvariantCulture, out days) && days >= 1: i++; break;
                case "--sessions-per-day" when int.TryParse(value, CultureInfo.InvariantCulture, out sessions) && sessions >= 1: i++; break;
                case "--runs" when int.TryParse(value, CultureInfo.InvariantCulture, out runs) && runs >= 1: i++; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "--help" or "-h" ? 0 : 2;
            }
        }
        using var printed = new PrintedSection();
        var temporary = data is null;
        data ??= Directory.CreateTempSubdirectory("atalaya-report-bench-").FullName;
        try
        {
            if (temporary)
            {
                Console.WriteLine($"Generating {days} days of demo events ({sessions} sessions a day) into {data} …");
                await using var loading = Hub.Open(data);
                using var ndjson = new MemoryStream();
                DemoGenerator.WriteNdjson(new DemoOptions(Days: days, Seed: 7, SessionsPerDay: sessions), ndjson);
                ndjson.Position = 0;
                var summary = await NdjsonImporter.ImportAsync(loading.Pipeline, ndjson, "bench");
                Console.WriteLine($"  {summary.Accepted:N0} events imported");
            }
            var load = Stopwatch.StartNew();
            await using var hub = Hub.Open(data);
            Console.WriteLine($"KPI engine loaded in {load.Elapsed.TotalSeconds:F2} s ({hub.Kpis.Projection.LastSeq:N0} events)");
            var builder = new ReportBuilder(hub.Kpis);
            var date = ReportPeriod.DefaultDate(ReportKind.Monthly, DateOnly.FromDateTime(DateTime.UtcNow));
            Console.WriteLine($"Monthly report of {ReportPeriod.For(ReportKind.Monthly, date).Key}, {runs} builds each after one warm-up:");
            Console.WriteLine("  scope            median ms   max ms   bytes");
            foreach (var scope in new[] { ReportScope.All, ReportScope.Country("MX"), ReportScope.Store("mx-003") })
            {
                var request = new ReportRequest(ReportKind.Monthly, date, scope, "es-MX");
                var size = builder.Build(request, DateTimeOffset.UtcNow).Content.Length;
                var times = new List<double>();
                for (var r = 0; r < runs; r++)
                {
                    var clock = Stopwatch.StartNew();
                    builder.Build(request, DateTimeOffset.UtcNow);
                    times.Add(clock.Elapsed.TotalMilliseconds);
                }
                times.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {scope.Label,-15} {times[times.Count / 2],10:F1} {times[^1],8:F1} {size,7}"));
            }
            if (output is not null)
            {
                printed.Save(Path.Combine(Repository.Root(), output), "report", "Monthly report build", args);
            }
            return 0;
        }
        finally
        {
            if (temporary)
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}
