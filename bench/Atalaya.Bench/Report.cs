using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Atalaya.Bench;

/// <summary>Writes a benchmark's section of docs/benchmarks.md between its markers, keeping the rest.</summary>
public static class Report
{
    /// <summary>
    /// Writes the ingest section: how the latest run was made, then the table of every run so far,
    /// this one appended (runs are never replaced: a chosen run would hide the spread).
    /// </summary>
    public static void WriteIngest(string path, BenchOptions options, EventFactory.Generated generated, IReadOnlyList<Ingest.IngestBenchmark.ClientRun> runs,
        (double Before, double After) load)
    {
        var c = CultureInfo.InvariantCulture;
        var existing = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n\n";
        Replace(existing, "ingest", "", out var previous);
        Replace(previous ?? "", "ingest-runs", "", out var previousRuns);
        var rows = (previousRuns ?? "").Split('\n').Where(l => l.StartsWith("| 20", StringComparison.Ordinal)).ToList();
        foreach (var run in runs)
        {
            var hubRate = run.Hub.Rows / run.Hub.Seconds;
            var ch = run.ClickHouse is { } r ? (r.Rows / r.Seconds).ToString("N0", c) : "—";
            var chCpu = run.ClickHouse is { } r2 ? (run.ClickHouseCpu * 1e6 / r2.Rows).ToString("F1", c) : "—";
            var ratio = double.IsNaN(run.Ratio) ? "—" : run.Ratio.ToString("F2", c) + "×";
            rows.Add(string.Create(c,
                $"| {DateTime.UtcNow:yyyy-MM-dd HH:mm} | {load.Before:F1} → {load.After:F1} | {options.Events:N0} × {generated.HubBytes / options.Events} B | {run.Client} ×{options.Connections} | {hubRate:N0} | {run.HubCpu * 1e6 / run.Hub.Rows:F1} | {ch} | {chCpu} | {ratio} | {run.Hub.Failures + (run.ClickHouse?.Failures ?? 0)} | {(options.Label.Length > 0 ? options.Label + "; " : "")}hub {HubBuild.Kind} |"));
        }
        var text = new StringBuilder();
        text.AppendLine("## Ingest: events/s over HTTP, hub vs ClickHouse");
        text.AppendLine();
        text.AppendLine(c, $"- Events: `EventFactory` in bench/Atalaya.Bench: page views, store visits, searches, product views, carts, checkouts, orders with 1–5 items and payments, from {EventFactory.UserAgents.Count} user agents (browsers, the shop's apps, server libraries, crawlers), 20,000 products in 400 stores; {options.Batch:N0} events a request");
        text.AppendLine("- Clients: `bench` is this program's client (keep-alive connections, bodies prepared in memory); `curl` posts the same bodies from files, one curl process and one connection a request, `xargs -P` at a time");
        text.AppendLine(c, $"- Machine of the latest run: {Machine()}");
        text.AppendLine(c, $"- Command of the latest run: `{options.CommandLine}`");
        text.AppendLine("- Server CPU µs/row: the server process's user + system time during the run over the rows stored; ratio = hub rows/s over ClickHouse rows/s in the same run. Target: ≥ 1.5× with both clients.");
        text.AppendLine();
        text.AppendLine("Every run with `--out` adds its rows below (none is replaced or chosen); the load average shows what else the machine was doing.");
        text.AppendLine();
        var table = new StringBuilder();
        table.AppendLine("| date (UTC) | load avg | events × size | client | hub rows/s | hub CPU µs/row | ClickHouse rows/s | ClickHouse CPU µs/row | ratio | failures | note |");
        table.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            table.AppendLine(row);
        }
        var section = text.ToString() + Replace("", "ingest-runs", table.ToString(), out _).Trim() + "\n";
        File.WriteAllText(path, Replace(existing, "ingest", section, out _));
    }

    internal static void Replace(string path, string name, string section)
    {
        var existing = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n\n";
        File.WriteAllText(path, Replace(existing, name, section, out _));
    }

    /// <summary><paramref name="text"/> with the block of <paramref name="name"/> replaced, or appended when it has none.</summary>
    internal static string Replace(string text, string name, string section, out string? previous)
    {
        var begin = $"<!-- {name}:start -->";
        var end = $"<!-- {name}:end -->";
        var block = $"{begin}\n{section}{end}";
        var from = text.IndexOf(begin, StringComparison.Ordinal);
        var to = text.IndexOf(end, StringComparison.Ordinal);
        if (from >= 0 && to > from)
        {
            previous = text[(from + begin.Length)..to].TrimStart('\n');
            return text[..from] + block + text[(to + end.Length)..];
        }
        previous = null;
        return text.TrimEnd() + "\n\n" + block + "\n";
    }

    internal static string Machine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var memory = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var os = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? "Linux";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores ({cpu}), {long.Parse(memory, CultureInfo.InvariantCulture) / 1024 / 1024} GiB, {os}, {RuntimeInformation.FrameworkDescription}");
    }
}
