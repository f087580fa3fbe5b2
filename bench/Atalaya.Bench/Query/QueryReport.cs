using System.Globalization;
using System.Text;

namespace Atalaya.Bench.Query;

/// <summary>
/// Writes the query benchmark's section (between <c>&lt;!-- query:start --&gt;</c> and
/// <c>&lt;!-- query:end --&gt;</c>): a common header saying how the questions are asked and timed,
/// then one block per data size (<c>&lt;!-- query-1M:start --&gt;</c> …), so the 1M and 10M runs
/// stand side by side and a run replaces only the block of its own size.
/// </summary>
public static class QueryReport
{
    private const double DashboardP95Ms = 20;
    private const double BytesPerEventTarget = 100;
    private const double StartupSecondsTarget = 5;

    public static void Write(string path, QueryOptions options, DemoDataset dataset, QueryBenchmark.HubRun? hub,
        QueryBenchmark.ClickHouseRun? clickhouse, IReadOnlyList<QueryBenchmark.Row> rows, (double Before, double After) load)
    {
        var c = CultureInfo.InvariantCulture;
        var label = options.Events >= 1_000_000 ? (options.Events / 1e6).ToString("0.#", c) + "M" : (options.Events / 1e3).ToString("0", c) + "k";
        var catalog = options.Products is { } products ? string.Create(c, $", a catalog of {products:N0} products") : "";
        var text = new StringBuilder();
        text.AppendLine(c, $"### {label} events{catalog}");
        // A large-catalog run has a block of its own beside the default catalog's.
        label += options.Products is { } size ? string.Create(c, $"-p{size}") : "";
        text.AppendLine();
        text.AppendLine(c, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine(c, $"- Machine: {Report.Machine()}; 1-minute load average {load.Before:F1} before the run, {load.After:F1} after (other work on the machine shows here)");
        text.AppendLine(c, $"- Data: {dataset.Events:N0} events from `{dataset.Command}` ({dataset.Bytes / 1e6:F0} MB of NDJSON, {dataset.FirstTimestamp:yyyy-MM-dd HH:mm} to {dataset.LastTimestamp:yyyy-MM-dd HH:mm} UTC)");
        if (hub?.Server is { } server)
        {
            text.AppendLine(c, $"- Hub: `atalaya import` ({server.ImportSummary.TrimEnd('.')}; {server.Import.TotalSeconds:F0} s wall), data folder {server.DataBytes / 1e6:F0} MB; then `atalaya serve` ({HubBuild.Kind}), an admin token");
        }
        else if (options.HubUrl is { } url)
        {
            text.AppendLine(c, $"- Hub: an already running hub at {url}, asked over HTTP only (no import, start-up or memory figures)");
        }
        if (clickhouse is not null)
        {
            text.AppendLine(c, $"- ClickHouse {clickhouse.Version}: one MergeTree table of flattened events (ORDER BY (event_type, ts), monthly partitions), {clickhouse.Load.Rows:N0} rows by `INSERT … FORMAT JSONEachRow` in {clickhouse.Load.Insert.TotalSeconds:F0} s, then `OPTIMIZE TABLE … FINAL` ({clickhouse.Load.Optimize.TotalSeconds:F0} s), {clickhouse.Load.StoredBytes / 1e6:F0} MB on disk");
        }
        text.AppendLine(c, $"- Command: `{options.CommandLine}`");
        text.AppendLine(c, $"- Timing: {options.Warmup} warm-up calls, then {options.Repeat} timed calls per question");
        text.AppendLine();
        text.AppendLine("| question | hub median (ms) | hub p95 (ms) | ClickHouse median (ms) | ClickHouse p95 (ms) | hub / ClickHouse (median) | answers |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            text.AppendLine(c, $"| {row.Question.Title} `{row.Question.HubPath}` | {Ms(row.Hub, l => l.Median)} | {Ms(row.Hub, l => l.P95)} | {Ms(row.ClickHouse, l => l.Median)} | {Ms(row.ClickHouse, l => l.P95)} | {Ratio(row)} | {row.Agreement} |");
        }
        text.AppendLine();
        if (hub?.Server is { } figures)
        {
            text.AppendLine(c, $"Start-up (process start to the first `GET /readyz` = 200): **{figures.Startup.TotalSeconds:F2} s** ({figures.EmptyStartup.TotalSeconds:F2} s on an empty data folder). Memory at steady state: {figures.ResidentSteady / 1048576.0:F0} MiB resident after all the questions and {figures.Idle.TotalSeconds:F0} s without requests vs {figures.EmptyResident / 1048576.0:F0} MiB for the same server on an empty data folder after the same pause = **{figures.BytesPerEvent(dataset.Events):F0} B per event**; peak during the questions {figures.ResidentPeak / 1048576.0:F0} MiB ({figures.PeakBytesPerEvent(dataset.Events):F0} B per event), {figures.ResidentAfterQueries / 1048576.0:F0} MiB right after them, {figures.Resident / 1048576.0:F0} MiB 1 s after start-up ({figures.BytesPerEventAtStartup(dataset.Events):F0} B per event).");
            text.AppendLine();
        }
        text.AppendLine("| target | result | met |");
        text.AppendLine("|---|---|---|");
        var available = rows.Where(r => r.Hub is { Available: true } && r.ClickHouse is { Available: true }).ToList();
        var slower = available.Where(r => r.Hub!.Median > r.ClickHouse!.Median).Select(r => r.Question.Short).ToList();
        var missing = rows.Count - available.Count;
        text.AppendLine(c, $"| every question ≤ ClickHouse's latency (median) | {available.Count - slower.Count} of {rows.Count} questions{(slower.Count > 0 ? "; slower: " + string.Join(", ", slower) : "")}{(missing > 0 ? $"; {missing} not measured on both sides" : "")} | {Met(missing == 0 && slower.Count == 0)} |");
        var dashboard = rows.Where(r => r.Question.Dashboard).ToList();
        var dashboardMet = dashboard.All(r => r.Hub is { Available: true } hubLatency && hubLatency.P95 <= DashboardP95Ms);
        var dashboardText = string.Join("; ", dashboard.Select(r => r.Question.Short + " " + (r.Hub is null ? "skipped" : r.Hub.Available ? r.Hub.P95.ToString("F1", c) + " ms" : "not available")));
        text.AppendLine(c, $"| `/api/kpi/query`, `/summary`, `/timeseries` p95 ≤ {DashboardP95Ms} ms | {dashboardText} | {Met(dashboardMet)} |");
        if (hub?.Server is { } measured)
        {
            text.AppendLine(c, $"| memory ≤ {BytesPerEventTarget} B per event at steady state (after the questions and {measured.Idle.TotalSeconds:F0} s idle) | {measured.BytesPerEvent(dataset.Events):F0} B | {Met(measured.BytesPerEvent(dataset.Events) <= BytesPerEventTarget)} |");
            text.AppendLine(c, $"| start-up ≤ {StartupSecondsTarget} s | {measured.Startup.TotalSeconds:F2} s | {Met(measured.Startup.TotalSeconds <= StartupSecondsTarget)} |");
        }
        var existing = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n\n";
        Report.Replace(existing, "query", "", out var previous);
        var blocks = previous is not null && previous.IndexOf("<!-- query-", StringComparison.Ordinal) is var first and >= 0 ? previous[first..] : "";
        blocks = Report.Replace(blocks, $"query-{label}", text.ToString(), out _).Trim();
        File.WriteAllText(path, Report.Replace(existing, "query", Header + "\n" + blocks + "\n", out _));
    }

    private const string Header = """
        ## Queries: dashboard and analysis questions, hub vs ClickHouse

        The same generated events (`atalaya demo`, about 120 days ending on the day of the run) are
        loaded into the hub (`atalaya import`, then `atalaya serve`) and into ClickHouse (one MergeTree
        table of flattened events: store dimensions resolved from `store_created`, user key = user_id
        else anonymous_id, amounts with the FX rate frozen in the event; sorted by (event_type, ts),
        monthly partitions, merged with `OPTIMIZE … FINAL` before timing). Each question is asked with
        a few warm-up calls, then timed call after call on one keep-alive connection, from sending the
        request to reading the whole response; one server runs at a time. The hub is asked over HTTP
        with an admin token, ClickHouse with SQL over its HTTP interface (`FORMAT TabSeparated`); the
        SQL is in `bench/Atalaya.Bench/Query/Questions.cs` and keeps the contract's definitions (orders
        are distinct order ids, sessions belong to the day of their first event, funnels are
        `windowFunnel`). "Answers" compares the two answers value by value (0.01 or 1e-6 relative).
        Start-up is process start to the first `GET /readyz` = 200; memory per event is the server's
        resident memory at steady state (after every question's runs, then `--idle` seconds without
        requests) minus that of the same server on an empty data folder after the same pause, divided
        by the events; the peak sampled every 20 ms during the questions is shown beside it.

        Targets: every question at most ClickHouse's latency; `/api/kpi/query`, `/summary` and
        `/timeseries` p95 ≤ 20 ms; ≤ 100 B of memory per event; start-up ≤ 5 s.

        """;

    public static string Ratio(QueryBenchmark.Row row) =>
        row.Hub is { Available: true } hub && row.ClickHouse is { Available: true } clickhouse
            ? (hub.Median / clickhouse.Median).ToString("F2", CultureInfo.InvariantCulture) + "×"
            : "-";

    private static string Ms(Latency? latency, Func<Latency, double> pick) =>
        latency is null ? "skipped" : latency.Available ? pick(latency).ToString("F1", CultureInfo.InvariantCulture) : "not available";

    private static string Met(bool met) => met ? "yes" : "no";
}
