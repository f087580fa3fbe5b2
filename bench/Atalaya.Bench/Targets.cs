using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Atalaya.Bench;

/// <summary>Posts pre-built bodies with N concurrent clients (one connection each) and times it.</summary>
public static class Load
{
    public sealed record Result(double Seconds, long Rows, int Failures, string? FirstFailure);

    public static async Task<Result> RunAsync(IReadOnlyList<byte[]> bodies, int connections, Func<HttpClient, byte[], Task<(bool Ok, long Rows, string? Error)>> send)
    {
        var next = -1;
        long rows = 0;
        var failures = 0;
        string? firstFailure = null;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { Timeout = TimeSpan.FromMinutes(5) };
            int index;
            while ((index = Interlocked.Increment(ref next)) < bodies.Count)
            {
                var (ok, count, error) = await send(client, bodies[index]);
                if (ok)
                {
                    Interlocked.Add(ref rows, count);
                }
                else
                {
                    Interlocked.Increment(ref failures);
                    firstFailure ??= error;
                }
            }
        }));
        return new Result(clock.Elapsed.TotalSeconds, rows, failures, firstFailure);
    }

    public static Func<HttpClient, byte[], Task<(bool, long, string?)>> Hub(string url, string writeKey) => async (client, body) =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url + "/api/events") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", writeKey);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return (false, 0, $"{(int)response.StatusCode} {text}");
        }
        var accepted = JsonDocument.Parse(text).RootElement.GetProperty("accepted").GetInt64();
        return (true, accepted, null);
    };

    public static Func<HttpClient, byte[], Task<(bool, long, string?)>> ClickHouse(string url) => async (client, body) =>
    {
        using var content = new ByteArrayContent(body);
        using var response = await client.PostAsync(url + "/?query=" + Uri.EscapeDataString("INSERT INTO bench_events FORMAT JSONEachRow"), content);
        return response.IsSuccessStatusCode
            ? (true, body.AsSpan().Count((byte)'\n'), null)
            : (false, 0, await response.Content.ReadAsStringAsync());
    };

    /// <summary>User + system CPU seconds a process has used so far (/proc/PID/stat).</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name.
        var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }

    /// <summary>Peak resident memory of a process (VmHWM), in MiB.</summary>
    public static double PeakMemoryMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }
}
