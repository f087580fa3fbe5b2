using System.Diagnostics;
using System.Globalization;
using Atalaya.Bench.Query;
using Atalaya.Engine;
using Atalaya.Engine.Privacy;

namespace Atalaya.Bench.Privacy;

/// <summary>
/// <c>erase</c>: one person's erasure in a hub loaded with <c>atalaya demo</c> data of about N events
/// (the query benchmark's cached dataset, imported with <c>atalaya import</c>). In process, on the
/// opened hub: the busiest user of the data set (the most events, so the most blocks to rewrite)
/// and a user with a median count are exported, then erased; each step's wall time is reported,
/// with the snapshot save the erasure includes. The goal (docs/privacy.md) is at most 5 s at 10M events.
/// </summary>
public static class EraseBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = DemoRunArgs.Parse(args, "usage: erase [--events N (1000000)] [--days N (120)] [--seed S (42)] [--cache DIR] [--out FILE]", new Dictionary<string, Func<string, bool>>(), out var exitCode);
        if (options is null)
        {
            return exitCode;
        }
        using var printed = new PrintedSection();
        var repository = Repository.Root();
        var dll = HubUnderTest.Dll(repository);
        var dataset = DemoDataset.Ensure(dll, options.Dataset);
        var data = Path.Combine(Path.GetTempPath(), "atalaya-bench-erase-" + Guid.NewGuid().ToString("N"));
        Console.WriteLine($"Import {dataset.Events:N0} events …");
        var (importTime, importSummary) = HubUnderTest.Import(dll, data, dataset.Path);
        Console.WriteLine($"  {importSummary} ({importTime.TotalSeconds:F1} s)");
        var people = Pick(dataset.Path);
        try
        {
            var clock = Stopwatch.StartNew();
            await using var hub = Hub.Open(data);
            Console.WriteLine($"Hub opened in {clock.Elapsed.TotalSeconds:F1} s ({hub.Kpis.Projection.Count:N0} events); load average {Load()}");
            foreach (var (label, user, count) in people)
            {
                var person = new PersonRef(user, true);
                clock.Restart();
                var export = PersonExport.Build(hub.PersonalData, person);
                var exportTime = clock.Elapsed;
                clock.Restart();
                // Ingest goes on during the erasure: 100-event batches one after another, each timed
                // from the call to its commit, to show how long an erasure makes a write wait.
                using var stop = new CancellationTokenSource();
                var writer = Task.Run(() => WriteWhileAsync(hub, label, stop.Token));
                var outcome = await hub.Erasure.EraseAsync(person, "bench", "bench");
                var eraseTime = clock.Elapsed;
                await stop.CancelAsync();
                var (batches, longest) = await writer;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {label} user ({count} events in the data set): export {exportTime.TotalMilliseconds:F0} ms ({export?.Length ?? 0:N0} bytes); erase {eraseTime.TotalMilliseconds:F0} ms — {outcome.Status}, {outcome.Ids} ids, {outcome.Events} events, {outcome.Blocks} blocks rewritten; "
                    + $"meanwhile {batches} write batches of 100 events, the longest waited {longest.TotalMilliseconds:F0} ms"));
            }
            // An anonymous id the KPI engine keys no event by (a device several signed-in people
            // share): the search reads every block. Here one never stored, so the whole search runs.
            clock.Restart();
            var device = PersonExport.Build(hub.PersonalData, new PersonRef("erase-bench-shared-device", false));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  an anonymous id keyed by no event (a shared device's; here never stored): export {clock.Elapsed.TotalMilliseconds:F0} ms, every block read — {(device is null ? "not found" : "found")}"));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
        if (options.Output is { } output)
        {
            printed.Save(Path.Combine(repository, output), "erase", "Erasure and export of one person", args);
        }
        return 0;
    }

    /// <summary>Commits batches of 100 fresh page views until cancelled: how many, and the longest a batch waited.</summary>
    private static async Task<(int Batches, TimeSpan Longest)> WriteWhileAsync(Hub hub, string label, CancellationToken stop)
    {
        var batches = 0;
        var longest = TimeSpan.Zero;
        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        while (!stop.IsCancellationRequested)
        {
            var lines = new System.Text.StringBuilder();
            for (var i = 0; i < 100; i++)
            {
                var id = string.Create(CultureInfo.InvariantCulture, $"erase-bench-{label}-{batches}-{i}");
                lines.Append("{\"event_id\":\"").Append(id).Append("\",\"event_type\":\"page_view\",\"timestamp\":\"").Append(now)
                    .Append("\",\"anonymous_id\":\"bench-writer\",\"session_id\":\"").Append(id)
                    .Append("\",\"context\":{\"page_url\":\"https://shop.example/\"},\"properties\":{}}\n");
            }
            using var input = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(lines.ToString()));
            var started = Stopwatch.GetTimestamp();
            await Atalaya.Engine.Collect.NdjsonImporter.ImportAsync(hub.Pipeline, input, "bench-writer", cancellationToken: CancellationToken.None);
            var waited = Stopwatch.GetElapsedTime(started);
            longest = waited > longest ? waited : longest;
            batches++;
        }
        return (batches, longest);
    }

    /// <summary>The busiest user id of the data set and one with a median count of events.</summary>
    private static List<(string Label, string User, int Events)> Pick(string ndjson)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(ndjson))
        {
            var at = line.IndexOf("\"user_id\":\"", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }
            at += 11;
            var user = line[at..line.IndexOf('"', at)];
            counts[user] = counts.GetValueOrDefault(user) + 1;
        }
        var ordered = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).ToList();
        var median = ordered[ordered.Count / 2];
        return [("busiest", ordered[0].Key, ordered[0].Value), ("median", median.Key, median.Value)];
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
