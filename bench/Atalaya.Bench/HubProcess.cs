using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Atalaya.Bench;

/// <summary><c>atalaya serve</c> (the build <see cref="HubBuild"/> names) on a loopback port over a temporary data folder.</summary>
public sealed class HubProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _data;

    private HubProcess(Process process, string data, string url, string writeKey)
    {
        _process = process;
        _data = data;
        Url = url;
        WriteKey = writeKey;
    }

    public string Url { get; }

    public string WriteKey { get; }

    public int Pid => _process.Id;

    public string DataDirectory => _data;

    /// <param name="serveArgs">More <c>serve</c> arguments (a cluster node's --clickhouse and --rabbitmq).</param>
    public static async Task<HubProcess> StartAsync(string repository, params string[] serveArgs)
    {
        var dll = HubBuild.Dll(repository);
        var data = Path.Combine(Path.GetTempPath(), "atalaya-bench-" + Guid.NewGuid().ToString("N"));
        var key = Run("dotnet", repository, dll, "tokens", "create", "--role", "write", "--source", "bench", "--data", data).TrimEnd().Split('\n')[^1];
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        // No scheduler: a catch-up run of the marts batch at start would share the CPU and the heap
        // with what is measured.
        foreach (var arg in new[] { dll, "serve", "--data", data, "--urls", url, "--no-scheduler" }.Concat(serveArgs))
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient();
        for (var i = 0; i < 300; i++)
        {
            try
            {
                if ((await client.GetAsync(url + "/readyz")).IsSuccessStatusCode)
                {
                    return new HubProcess(process, data, url, key);
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        process.Kill(true);
        throw new InvalidOperationException("atalaya serve did not become ready in 30 s.");
    }

    public static string Run(string file, string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? stdout : throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {stderr}{stdout}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public long DatabaseBytes() => Directory.EnumerateFiles(_data).Sum(f => new FileInfo(f).Length);

    public async ValueTask DisposeAsync()
    {
        _process.Kill(true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        Directory.Delete(_data, recursive: true);
    }
}
