using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Atalaya.Bench.Query;

/// <summary>
/// <c>atalaya serve</c> (the build <see cref="HubBuild"/> names) on a loopback port over a given data folder, with the
/// time from process start to the first <c>GET /readyz</c> that answers 200 (start-up time: runtime
/// start, opening the store, loading its indexes and whatever the hub builds before it is ready).
/// </summary>
public sealed class HubUnderTest : IAsyncDisposable
{
    private readonly Process _process;

    private HubUnderTest(Process process, string url, TimeSpan startup, System.Collections.Concurrent.ConcurrentQueue<string> output)
    {
        _process = process;
        Output = output;
        Url = url;
        Startup = startup;
    }

    public string Url { get; }

    public TimeSpan Startup { get; }

    public int Pid => _process.Id;

    /// <summary>The server's log lines so far (standard output).</summary>
    public IReadOnlyCollection<string> Output { get; }

    /// <summary>Ends the server as <c>kill -9</c> would: no shutdown, no final snapshot.</summary>
    public async Task CrashAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Ends the server as a service manager would (SIGTERM): it closes the store and writes its snapshot.</summary>
    public async Task StopAsync()
    {
        HubProcess.Run("kill", Path.GetTempPath(), "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture));
        await _process.WaitForExitAsync();
    }

    /// <summary>The hub executable <see cref="HubBuild"/> names, built or published when missing.</summary>
    public static string Dll(string repository) => HubBuild.Dll(repository);

    /// <summary><c>atalaya import --data DIR FILE</c>; returns its wall time and its summary line.</summary>
    public static (TimeSpan Elapsed, string Summary) Import(string dll, string data, string file)
    {
        var clock = Stopwatch.StartNew();
        var output = HubProcess.Run("dotnet", Path.GetDirectoryName(data)!, dll, "import", "--data", data, file);
        var summary = output.Split('\n').LastOrDefault(l => l.StartsWith("Imported", StringComparison.Ordinal))?.Trim() ?? output.Trim();
        return (clock.Elapsed, summary);
    }

    /// <summary><c>atalaya tokens create --role admin</c>: the token is the last line of its output.</summary>
    public static string CreateAdminToken(string dll, string data) =>
        HubProcess.Run("dotnet", Path.GetDirectoryName(data)!, dll, "tokens", "create", "--role", "admin", "--name", "bench-query", "--data", data)
            .TrimEnd().Split('\n')[^1].Trim();

    /// <param name="serveArgs">More <c>serve</c> arguments (a cluster node's --clickhouse and --rabbitmq).</param>
    public static async Task<HubUnderTest> StartAsync(string dll, string data, TimeSpan timeout, params string[] serveArgs)
    {
        var url = $"http://127.0.0.1:{FreePort()}";
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(data)! };
        // No scheduler: a catch-up run of the marts batch at start would share the CPU and the heap
        // with what is measured.
        foreach (var arg in new[] { dll, "serve", "--data", data, "--urls", url, "--no-scheduler" }.Concat(serveArgs))
        {
            info.ArgumentList.Add(arg);
        }
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        var process = Process.Start(info)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is { } text)
            {
                output.Enqueue(text);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        while (clock.Elapsed < timeout && !process.HasExited)
        {
            try
            {
                using var response = await client.GetAsync(url + "/readyz");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return new HubUnderTest(process, url, clock.Elapsed, output);
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(10);
        }
        var exited = process.HasExited ? $" (exited with {process.ExitCode})" : "";
        process.Kill(true);
        process.Dispose();
        throw new InvalidOperationException($"atalaya serve did not become ready within {timeout.TotalSeconds:F0} s{exited}.");
    }

    /// <summary>Resident memory now (VmRSS of /proc/PID/status), in bytes.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(true);
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
