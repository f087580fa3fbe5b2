using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Atalaya.Bench.Delays;

/// <summary>
/// How long the hub takes to reflect a change, measured on a running Release server (the tests check
/// the mechanisms with a movable clock and never time them):
/// <list type="bullet">
/// <item>revocation: `atalaya tokens revoke` in another process → the first refused request (the
/// documented bound is one second, the server's token cache);</item>
/// <item>live update: an accepted purchase → the next live-dashboard summary that counts it
/// (`GET /api/kpi/events`; documented as about half a second).</item>
/// </list>
/// </summary>
public static class DelayBenchmark
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- delays [--trials N] [--out FILE]

          --trials N   measurements of each delay (default 20)
          --out FILE   write the delays section into FILE (e.g. docs/benchmarks.md)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var trials = 20;
        string? output = null;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--trials" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n > 0:
                    trials = n;
                    i++;
                    break;
                case "--out" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "--help" or "-h" ? 0 : 2;
            }
        }

        var repository = Repository.Root();
        var dll = HubBuild.Dll(repository);
        await using var hub = await HubProcess.StartAsync(repository);
        var data = hub.DataDirectory;
        var admin = HubProcess.Run("dotnet", repository, dll, "tokens", "create", "--role", "admin", "--data", data).TrimEnd().Split('\n')[^1];
        using var client = new HttpClient { BaseAddress = new Uri(hub.Url) };

        Console.WriteLine($"Revocation by the command line → first refused request, {trials} trials …");
        var revocations = new List<double>();
        for (var trial = 0; trial < trials; trial++)
        {
            var created = HubProcess.Run("dotnet", repository, dll, "tokens", "create", "--role", "analyst", "--name", $"bench-{trial}", "--data", data).TrimEnd().Split('\n');
            var secret = created[^1];
            var id = created.Select(l => l.Trim()).First(l => l.Contains("tok_", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries).First(w => w.StartsWith("tok_", StringComparison.Ordinal)).TrimEnd('.', ',', ')');
            if (await StatusAsync(client, secret) != HttpStatusCode.OK)
            {
                throw new InvalidOperationException("a new token was refused before its revocation");
            }
            HubProcess.Run("dotnet", repository, dll, "tokens", "revoke", id, "--data", data);
            var clock = Stopwatch.StartNew();
            while (await StatusAsync(client, secret) == HttpStatusCode.OK)
            {
                await Task.Delay(5);
            }
            revocations.Add(clock.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine($"Accepted purchase → live summary counting it, {trials} trials …");
        var updates = await LiveUpdatesAsync(client, admin, hub.WriteKey, trials);

        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine("## Delays: revocation and live updates on a running hub");
        text.AppendLine();
        text.AppendLine(c, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load average at the end {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        text.AppendLine(c, $"- Machine: {Report.Machine()}");
        text.AppendLine(c, $"- Command: `dotnet run -c Release --project bench/Atalaya.Bench -- {string.Join(' ', args)}`");
        text.AppendLine();
        text.AppendLine("| delay | trials | p50 ms | p95 ms | max ms | documented bound |");
        text.AppendLine("|---|---:|---:|---:|---:|---|");
        text.AppendLine(c, $"| `tokens revoke` in another process → first 401 | {trials} | {Percentile(revocations, 0.5):F0} | {Percentile(revocations, 0.95):F0} | {revocations.Max():F0} | 1 s (token cache) |");
        text.AppendLine(c, $"| accepted purchase → live summary counting it | {trials} | {Percentile(updates, 0.5):F0} | {Percentile(updates, 0.95):F0} | {updates.Max():F0} | ~0.5 s (check period) |");
        Console.Write(text);
        if (output is not null)
        {
            Report.Replace(Path.Combine(repository, output), "delays", text.ToString());
            Console.WriteLine($"Wrote the delays section of {output}.");
        }
        return 0;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/definitions");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<List<double>> LiveUpdatesAsync(HttpClient client, string admin, string writeKey, int trials)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/events?metric=orders");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await NextTodayAsync(reader);
        var delays = new List<double>();
        for (var trial = 1; trial <= trials; trial++)
        {
            var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            var purchase = $$$"""
                {"event_id":"bench-live-{{{Guid.NewGuid():N}}}","event_type":"purchase_completed","timestamp":"{{{now}}}","user_id":"u-bench",
                 "context":{"country":"MX","currency":"MXN"},
                 "properties":{"currency":"MXN","order_id":"o-bench-{{{trial}}}-{{{Guid.NewGuid():N}}}","store_id":"st-bench","subtotal":10,"delivery_fee":0,"total":10,"fx_rate_to_reporting":0.05,
                  "items":[{"product_id":"p-1","quantity":1,"price":10}]}}
                """;
            using var post = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new StringContent(purchase, Encoding.UTF8, "application/json") };
            post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", writeKey);
            using var posted = await client.SendAsync(post);
            var body = await posted.Content.ReadAsStringAsync();
            if (!posted.IsSuccessStatusCode || !body.Contains("\"accepted\":1", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the purchase was not accepted: {(int)posted.StatusCode} {body}");
            }
            var clock = Stopwatch.StartNew();
            while (await NextTodayAsync(reader) < first + trial)
            {
            }
            delays.Add(clock.Elapsed.TotalMilliseconds);
        }
        return delays;
    }

    private static async Task<double> NextTodayAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                using var summary = System.Text.Json.JsonDocument.Parse(line.AsMemory(6));
                return summary.RootElement.GetProperty("data")[0].GetProperty("today").GetDouble();
            }
        }
        throw new InvalidOperationException("the live stream ended");
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
