using System.Diagnostics;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Quality;

namespace Atalaya.Bench.Health;

/// <summary>
/// The cost the data-quality state adds to a KPI answer (docs/quality.md): a stored quality run of
/// <c>--findings</c> findings over 20 countries, then <c>--calls</c> calls of
/// <see cref="FigureHealthReader.For"/> for every KPI, as a country lead and as an admin. Each call
/// looks the newest run id up in SQLite and filters the cached findings, as an API call does.
/// </summary>
internal static class HealthBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var findings = Option(args, "--findings", 400);
        var calls = Option(args, "--calls", 20_000);
        var directory = Path.Combine(Path.GetTempPath(), "atalaya-bench-health-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var hub = Hub.Open(directory);
            var countries = Enumerable.Range(0, 20).Select(i => $"{(char)('A' + i)}X").ToList();
            var results = Enumerable.Range(0, findings).Select(i => new QualityResult(i % 3 == 0 ? "freshness" : "volume",
                $"country:{countries[i % countries.Count]}/event_type:t{i}", i % 7 == 0 ? QualityStatus.Fail : i % 5 == 0 ? QualityStatus.Warn : QualityStatus.Ok,
                i, 3, 5, "z", "A finding.")
            { Country = countries[i % countries.Count], Since = DateTimeOffset.UtcNow })
                .ToList();
            using (var connection = hub.Database.Connect())
            {
                QualityResults.Save(connection, "run_bench_health", DateTimeOffset.UtcNow, results);
            }
            var metrics = KpiDictionary.Default.Kpis.Select(k => k.Id).ToList();
            var lead = new AccessScope([countries[0]], [], [], []);
            foreach (var (name, scope) in new[] { ("country lead", lead), ("admin", AccessScope.Everything) })
            {
                hub.Health.For(metrics, scope, DimensionFilter.None);
                var watch = Stopwatch.StartNew();
                var touched = 0;
                for (var i = 0; i < calls; i++)
                {
                    touched += hub.Health.For(metrics, scope, DimensionFilter.None).Findings.Count;
                }
                watch.Stop();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name}: {calls:N0} calls, {watch.Elapsed.TotalMicroseconds / calls:F1} µs per call ({findings} stored findings, {metrics.Count} KPIs, {touched / calls} findings in each answer)"));
            }
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder: the OS cleans it up.
            }
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }
}
