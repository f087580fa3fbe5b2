using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Atalaya.Bench;

/// <summary>Writes a benchmark's section of docs/benchmarks.md between its markers, keeping the rest.</summary>
public static class Report
{
    public static void WriteIngest(string path, BenchOptions options, EventFactory.Generated generated, Load.Result hub, double hubMemory,
        double hubCpu, long hubDisk, Load.Result? clickhouse, double clickhouseMemory, double clickhouseCpu)
    {
        var c = CultureInfo.InvariantCulture;
        var hubRate = hub.Rows / hub.Seconds;
        var text = new StringBuilder();
        text.AppendLine(c, $"## Ingest: events/s over HTTP, hub vs ClickHouse");
        text.AppendLine();
        text.AppendLine(c, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine(c, $"- Machine: {Machine()}");
        text.AppendLine(c, $"- Data: {options.Events:N0} generated events, {generated.HubBytes / options.Events} B each as native JSON ({generated.HubBytes / 1e6:F0} MB); {options.Batch:N0} events a request, {options.Connections} concurrent connections");
        text.AppendLine(c, $"- Command: `{options.CommandLine}`");
        text.AppendLine();
        text.AppendLine("| target | rows | seconds | rows/s | server CPU µs/row | peak memory (MiB) | failures |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        text.AppendLine(c, $"| hub `POST /api/events` (validate, dedupe, fsync before 2xx) | {hub.Rows:N0} | {hub.Seconds:F2} | {hubRate:N0} | {hubCpu * 1e6 / hub.Rows:F1} | {hubMemory:F0} | {hub.Failures} |");
        if (clickhouse is not null)
        {
            var chRate = clickhouse.Rows / clickhouse.Seconds;
            text.AppendLine(c, $"| ClickHouse 18.16 `INSERT … FORMAT JSONEachRow` (MergeTree) | {clickhouse.Rows:N0} | {clickhouse.Seconds:F2} | {chRate:N0} | {clickhouseCpu * 1e6 / clickhouse.Rows:F1} | {clickhouseMemory:F0} | {clickhouse.Failures} |");
            text.AppendLine();
            text.AppendLine(c, $"Ratio hub / ClickHouse: **{hubRate / chRate:F2}×** (target ≥ 1.5×). The hub's data folder after the run: {hubDisk / 1e6:F0} MB.");
        }
        Replace(path, "ingest", text.ToString());
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
