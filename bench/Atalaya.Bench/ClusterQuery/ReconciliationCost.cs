using System.Diagnostics;
using System.Globalization;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Quality;

namespace Atalaya.Bench.ClusterQuery;

/// <summary>
/// What ClickHouse's side of the <c>dq_health</c> reconciliation check costs over the data of a run
/// (docs/quality.md, "reconciliation"): every KPI of the events per day and country over the last
/// closed week, the reconciled funnel over that week and the weekly order cohorts of the last
/// twelve weeks, each asked twice (the second time with ClickHouse's caches warm), as the check asks them.
/// </summary>
internal static class ReconciliationCost
{
    private const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- reconciliation --clickhouse URL

        Times ClickHouse's side of the dq_health reconciliation check over a cluster's database as it
        is (URL: the node's --clickhouse, its path the database), each part named, asked twice.
        cluster-query prints the same after its questions.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 3 || args[1] != "--clickhouse" || !Uri.TryCreate(args[2], UriKind.Absolute, out _))
        {
            Console.WriteLine(Usage);
            return args.Contains("--help") || args.Contains("-h") ? 0 : 2;
        }
        try
        {
            await PrintAsync(args[2]);
            return 0;
        }
        catch (Exception e) when (e is ClickHouseException or ClickHouseUnavailableException or HttpRequestException)
        {
            Console.Error.WriteLine($"reconciliation: ClickHouse at {args[2]} answered: {e.Message}");
            return 2;
        }
    }

    public static async Task PrintAsync(string database)
    {
        using var clickHouse = new ClickHouseClient(ClickHouseSettings.Parse(database) with { Timeout = TimeSpan.FromMinutes(10) });
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var (from, to) = (today.AddDays(-QualityChecks.ReconcileDays), today.AddDays(-1));
        var (fromMs, toMs) = (Ms(from), Ms(today));
        Console.WriteLine($"Reconciliation check, ClickHouse's side ({from:yyyy-MM-dd} … {to:yyyy-MM-dd}; cohorts over {QualityChecks.ReconcileWeeks} weeks), each asked twice:");
        for (var pass = 1; pass <= 2; pass++)
        {
            var clock = Stopwatch.StartNew();
            var laps = new QueryLaps();
            var cells = (await KpiAggregates.DailyAsync(clickHouse, from, to, CancellationToken.None, laps)).Count;
            var daily = clock.Elapsed;
            clock.Restart();
            var funnel = await AnalysisFigures.FunnelAsync(clickHouse, QualityChecks.ReconciledFunnel, 3_600_000, fromMs, toMs, CancellationToken.None);
            var funnelTime = clock.Elapsed;
            clock.Restart();
            var cohorts = await AnalysisFigures.RetentionAsync(clickHouse, true, Ms(today.AddDays(-7 * QualityChecks.ReconcileWeeks)), toMs, TimeZoneInfo.Utc, CancellationToken.None);
            var cohortTime = clock.Elapsed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  pass {pass}: {KpiAggregates.Metrics.Count} KPIs per day and country {daily.TotalSeconds:F2} s ({cells:N0} cells); funnel {funnelTime.TotalSeconds:F2} s ({funnel[0]:N0} people at its first step); cohorts {cohortTime.TotalSeconds:F2} s ({cohorts.Count:N0} cells); total {(daily + funnelTime + cohortTime).TotalSeconds:F2} s"));
            Console.WriteLine("    the KPIs' parts: " + string.Join(", ", laps.Parts.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Part} {p.Took.TotalSeconds:F2} s"))));
        }
    }

    private static long Ms(DateOnly day) => (day.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber) * 86_400_000L;
}
