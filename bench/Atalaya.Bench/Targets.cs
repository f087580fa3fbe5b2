using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Atalaya.Bench;

/// <summary>Posts pre-built bodies with N concurrent clients (one connection each) and times it.</summary>
public static class Load
{
    public sealed record Result(double Seconds, long Rows, int Failures, string? FirstFailure)
    {
        /// <summary>
        /// The run's second half alone: from the moment the middle body is taken to the end, the rows
        /// acknowledged and the server's CPU seconds (NaN without a server process). A freshly
        /// started server spends part of the first half compiling its code and sizing its tables;
        /// this is the rate it settles at.
        /// </summary>
        public (double Seconds, long Rows, double CpuSeconds) SecondHalf { get; init; }

        public string SecondHalfText => SecondHalf.Rows == 0 ? "second half: —" : string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"second half alone: {SecondHalf.Rows / SecondHalf.Seconds:N0} rows/s, {SecondHalf.CpuSeconds * 1e6 / SecondHalf.Rows:F1} µs/row of server CPU");
    }

    /// <param name="serverPid">The server's process, whose CPU the second half reports (optional).</param>
    public static async Task<Result> RunAsync(IReadOnlyList<byte[]> bodies, int connections, Func<HttpClient, byte[], Task<(bool Ok, long Rows, string? Error)>> send,
        int? serverPid = null)
    {
        var next = -1;
        long rows = 0;
        var failures = 0;
        string? firstFailure = null;
        var clock = Stopwatch.StartNew();
        var middle = bodies.Count / 2;
        (double At, long Rows, double Cpu) half = default;
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { Timeout = TimeSpan.FromMinutes(5) };
            int index;
            while ((index = Interlocked.Increment(ref next)) < bodies.Count)
            {
                if (index == middle)
                {
                    half = (clock.Elapsed.TotalSeconds, Interlocked.Read(ref rows), serverPid is int pid ? CpuSeconds(pid) : double.NaN);
                }
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
        var seconds = clock.Elapsed.TotalSeconds;
        return new Result(seconds, rows, failures, firstFailure)
        {
            SecondHalf = (seconds - half.At, rows - half.Rows, serverPid is int server ? CpuSeconds(server) - half.Cpu : double.NaN),
        };
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
