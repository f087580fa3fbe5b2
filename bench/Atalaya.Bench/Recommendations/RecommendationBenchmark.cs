using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Bench.Query;
using Atalaya.Engine.Access;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Recommendations;
using Atalaya.Engine.Storage;

namespace Atalaya.Bench.Recommendations;

/// <summary>
/// <c>recs</c>: the recommendation model on generated data with planted pairs. In process: how
/// long the model takes to learn the events, how much memory it keeps (per million events) and the
/// latency of <see cref="RecommendationModel.Recommend"/>. Over HTTP: a Release <c>atalaya serve</c>
/// on the imported data, and the latency of <c>GET /api/recommendations</c> one call after another
/// (request sent to body read), for product pages, half of them with a person for "for you".
/// </summary>
public static class RecommendationBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        int days = 60, sessions = 1200, scale = 1, calls = 5000;
        string? output = null;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--days": days = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--sessions-per-day": sessions = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--scale": scale = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--calls": calls = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--out": output = args[++i]; break;
                default:
                    Console.WriteLine("usage: recs [--days N (60)] [--sessions-per-day N (1200)] [--scale K (1)] [--calls N (5000)] [--out FILE]");
                    return args[i] is "--help" or "-h" ? 0 : 2;
            }
        }

        var options = new DemoOptions(days, 42, new DateOnly(2026, 11, 30), sessions, scale, PlantedPairs: true);
        Console.WriteLine($"Generating {days} days × ~{sessions * scale} sessions (planted pairs) …");
        var events = DemoGenerator.Generate(options).ToList();
        var products = new List<string>();
        var people = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reader = new RecommendationEvent();
        foreach (var e in events)
        {
            if (reader.Read(e) && reader.Type == RecommendationEventType.ProductViewed && reader.ProductId is { } id)
            {
                if (seen.Add(id))
                {
                    products.Add(id);
                }
                if (reader.UserId is { } user && seen.Add("u:" + user))
                {
                    people.Add(user);
                }
            }
        }

        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        var model = RecommendationModel.FromEvents(events);
        var learn = clock.Elapsed;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var size = model.Size();
        var perMillion = 1e6 / events.Count;
        Console.WriteLine($"{events.Count:N0} events learned in {learn.TotalSeconds:F2} s ({events.Count / learn.TotalSeconds:N0} events/s); "
            + $"{size.Products:N0} products, {size.People:N0} people; managed heap +{(after - before) / 1048576.0:F1} MB "
            + $"({(after - before) * perMillion / 1048576.0:F1} MB per million events)");

        var random = new Random(7);
        var stores = new StoreDirectory();
        var now = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var inProcess = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var request = Request(random, products, people);
            var t = Stopwatch.GetTimestamp();
            model.Recommend(request, AccessScope.Everything, stores, now);
            inProcess[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        Console.WriteLine($"in process: p50 {P(inProcess, 0.5):F3} ms, p99 {P(inProcess, 0.99):F3} ms over {calls:N0} calls");

        var repository = Repository.Root();
        var dll = HubUnderTest.Dll(repository);
        var folder = Path.Combine(Path.GetTempPath(), "atalaya-bench-recs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var data = Path.Combine(folder, "data");
        var file = Path.Combine(folder, "events.ndjson");
        double[] http;
        TimeSpan ready;
        try
        {
            await using (var stream = File.Create(file))
            {
                DemoGenerator.WriteNdjson(options, stream);
            }
            var (elapsed, summary) = HubUnderTest.Import(dll, data, file);
            Console.WriteLine($"import: {summary} in {elapsed.TotalSeconds:F1} s");
            var key = HubProcess.Run("dotnet", folder, dll, "tokens", "create", "--role", "write", "--source", "bench", "--name", "bench-recs", "--data", data)
                .TrimEnd().Split('\n')[^1].Trim();
            await using var hub = await HubUnderTest.StartAsync(dll, data, TimeSpan.FromMinutes(5));
            using var client = new HttpClient { BaseAddress = new Uri(hub.Url), Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var loading = Stopwatch.StartNew();
            while (true)
            {
                using var probe = await client.GetAsync(new Uri("/api/recommendations?product_id=" + Uri.EscapeDataString(products[0]), UriKind.Relative));
                if (probe.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }
                await Task.Delay(20);
            }
            ready = hub.Startup + loading.Elapsed;
            http = new double[calls];
            for (var i = -200; i < calls; i++)
            {
                var request = Request(random, products, people);
                var query = $"/api/recommendations?product_id={Uri.EscapeDataString(request.ProductId)}"
                    + (request.UserId is { } u ? "&user_id=" + Uri.EscapeDataString(u) : "");
                var t = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(new Uri(query, UriKind.Relative));
                var body = await response.Content.ReadAsByteArrayAsync();
                if (i >= 0)
                {
                    http[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                }
                if (response.StatusCode != HttpStatusCode.OK || JsonDocument.Parse(body).RootElement.GetProperty("data").GetArrayLength() == 0)
                {
                    throw new InvalidOperationException($"{query}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        Console.WriteLine($"HTTP: p50 {P(http, 0.5):F3} ms, p99 {P(http, 0.99):F3} ms over {calls:N0} calls; recommendations ready {ready.TotalSeconds:F1} s after process start");

        if (output is not null)
        {
            var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            await File.AppendAllTextAsync(output, string.Create(CultureInfo.InvariantCulture, $"""

                ## Recommendations: learning, memory and latency ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, `recs --days {days} --sessions-per-day {sessions} --scale {scale} --calls {calls}`)

                {events.Count:N0} generated events (planted pairs), {Environment.ProcessorCount} cores, load average {load} at the end (shared machine).

                | figure | value |
                |---|---|
                | learn all events in process | {learn.TotalSeconds:F2} s ({events.Count / learn.TotalSeconds:N0} events/s) |
                | model memory (managed heap after − before) | {(after - before) / 1048576.0:F1} MB, {(after - before) * perMillion / 1048576.0:F1} MB per million events |
                | products / people kept | {size.Products:N0} / {size.People:N0} |
                | `Recommend` in process, p50 / p99 | {P(inProcess, 0.5):F3} / {P(inProcess, 0.99):F3} ms |
                | `GET /api/recommendations` over loopback, p50 / p99 | {P(http, 0.5):F3} / {P(http, 0.99):F3} ms |
                | recommendations ready after process start | {ready.TotalSeconds:F1} s |

                """));
        }
        return 0;
    }

    /// <summary>A product page; every other one with a signed-in person (for you, then the other kinds).</summary>
    private static RecommendationRequest Request(Random random, List<string> products, List<string> people) =>
        new(products[random.Next(products.Count)], UserId: random.Next(2) == 0 && people.Count > 0 ? people[random.Next(people.Count)] : null);

    private static double P(double[] samples, double p)
    {
        var sorted = samples.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
