using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Atalaya.Tests.Support;

/// <summary>
/// A real <c>atalaya serve</c> process on a loopback URL: started with the given arguments, ready once
/// it prints its banner, its output (stdout and stderr) kept; killed on dispose.
/// </summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServeProcess(Process process) => _process = process;

    /// <summary>The server's process id (for what the kernel says of it under /proc).</summary>
    public int Pid => _process.Id;

    public string Url { get; private init; } = "";

    /// <summary>What the process printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>atalaya serve</c> with <paramref name="args"/> and <c>--urls</c> <paramref name="url"/> (a free port when null)
    /// and waits for its banner (with <c>--demo</c>: once the demo data is in and the tokens printed) or,
    /// without <c>--demo</c>, for <c>/readyz</c> to answer 200.
    /// </summary>
    public static Task<ServeProcess> StartAsync(string? url, params string[] args) => StartAsync(url, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="StartAsync(string?, string[])"/>, with <paramref name="environment"/> added to the process's environment.</summary>
    public static async Task<ServeProcess> StartAsync(string? url, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        url ??= $"http://127.0.0.1:{FreePort()}";
        var info = AtalayaProcess.StartInfo(["serve", .. args, "--urls", url]);
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        var serve = new ServeProcess(Process.Start(info)!) { Url = url };
        var banner = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        serve._process.OutputDataReceived += (_, e) =>
        {
            lock (serve._output)
            {
                serve._output.AppendLine(e.Data);
            }
            if (e.Data?.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal) == true)
            {
                banner.TrySetResult();
            }
        };
        serve._process.ErrorDataReceived += (_, e) =>
        {
            lock (serve._output)
            {
                serve._output.AppendLine(e.Data);
            }
        };
        serve._process.BeginOutputReadLine();
        serve._process.BeginErrorReadLine();
        try
        {
            await (args.Contains("--demo") ? banner.Task : ReadyAsync(url)).WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
        return serve;
    }

    /// <summary>The text after <paramref name="label"/> on the one output line that starts with it (e.g. "Write key:").</summary>
    public string Line(string label) =>
        Output.Split('\n').Single(l => l.TrimStart().StartsWith(label, StringComparison.Ordinal)).Split(label)[1].Trim();

    /// <summary>Waits (at most a minute) until the process has printed <paramref name="text"/>; lines logged after ready come a moment later.</summary>
    public async Task WaitForOutputAsync(string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    private static async Task ReadyAsync(string url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            try
            {
                using var response = await client.GetAsync(url + "/readyz");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
                // One slow answer (a loaded machine, a node still connecting): ask again; the caller's
                // 120 s bound ends the wait.
            }
            await Task.Delay(50);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
