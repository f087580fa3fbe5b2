using System.Diagnostics;

namespace Atalaya.Bench.Query;

/// <summary>
/// Times one question on one side: <c>warmup</c> untimed calls, then <c>repeat</c> calls one after
/// another, each from sending the request to reading the whole response. A side that answers 404
/// does not have the question (yet): it is reported as not available, not as a failure.
/// </summary>
public sealed record Latency(string? Problem, double[] Milliseconds, double FirstMilliseconds, string Body)
{
    public bool Available => Problem is null;

    public double Median => Percentile(0.5);

    public double P95 => Percentile(0.95);

    /// <summary>Nearest-rank percentile: the smallest sample with at least <paramref name="p"/> of the samples at or below it.</summary>
    public double Percentile(double p)
    {
        if (Milliseconds.Length == 0)
        {
            return double.NaN;
        }
        var sorted = Milliseconds.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    public static async Task<Latency> MeasureAsync(HttpClient client, Func<HttpRequestMessage> request, int warmup, int repeat)
    {
        var clock = Stopwatch.StartNew();
        var (status, body) = await CallAsync(client, request);
        var first = clock.Elapsed.TotalMilliseconds;
        if (status == 404)
        {
            return new Latency("not available", [], first, body);
        }
        if (status != 200)
        {
            var message = body.Length > 160 ? body[..160] + "…" : body;
            return new Latency($"error {status}: {message.ReplaceLineEndings(" ")}", [], first, body);
        }
        for (var i = 1; i < warmup; i++)
        {
            await CallAsync(client, request);
        }
        var samples = new double[repeat];
        for (var i = 0; i < repeat; i++)
        {
            clock.Restart();
            (status, body) = await CallAsync(client, request);
            samples[i] = clock.Elapsed.TotalMilliseconds;
            if (status != 200)
            {
                return new Latency($"error {status} on call {i + 1}", [], first, body);
            }
        }
        return new Latency(null, samples, first, body);
    }

    private static async Task<(int Status, string Body)> CallAsync(HttpClient client, Func<HttpRequestMessage> request)
    {
        using var message = request();
        using var response = await client.SendAsync(message, HttpCompletionOption.ResponseContentRead);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
