using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Atalaya.Tests.Robustness;

/// <summary>
/// A real hub in a child process (<c>dotnet atalaya.dll serve</c>) on a loopback port, over its
/// own temporary data folder, for tests that must kill it or feed it hostile input. The port and
/// the data folder stay the same across <see cref="KillAsync"/> and <see cref="StartAsync"/>, so a
/// restart is the same hub after a crash. The child's stdout and stderr go to <c>hub.log</c> in
/// the data folder; the folder is deleted on dispose only after <see cref="MarkPassed"/>, so a
/// failed test leaves its database and log behind for a post-mortem.
/// </summary>
public sealed class ChildHub : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly Lock _logLock = new();
    private readonly StreamWriter _log;
    private readonly string[] _serveArguments;
    private Process? _process;
    private int _starts;
    private bool _passed;

    private ChildHub(string dataDir, int port, string[] serveArguments)
    {
        DataDir = dataDir;
        _serveArguments = serveArguments;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _log = new StreamWriter(Path.Combine(dataDir, "hub.log"), append: true, Encoding.UTF8) { AutoFlush = true };
    }

    public Uri BaseAddress { get; }

    public string DataDir { get; }

    public string WriteKey { get; private set; } = "";

    public string DatabasePath => Path.Combine(DataDir, "atalaya.db");

    public string LogPath => Path.Combine(DataDir, "hub.log");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The hub's entry assembly, copied next to the tests by the project reference.</summary>
    public static string HubAssembly => Path.Combine(AppContext.BaseDirectory, "atalaya.dll");

    /// <summary>Creates a data folder and a write key, then starts the hub and waits until it is ready.</summary>
    public static Task<ChildHub> LaunchAsync(string name, CancellationToken cancellationToken = default) =>
        LaunchAsync(name, [], cancellationToken);

    /// <summary>As <see cref="LaunchAsync(string, CancellationToken)"/>, with more options for <c>serve</c> (e.g. <c>--log-format json</c>).</summary>
    public static async Task<ChildHub> LaunchAsync(string name, string[] serveArguments, CancellationToken cancellationToken = default)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "atalaya-tests", $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..^24]);
        Directory.CreateDirectory(dataDir);
        var hub = new ChildHub(dataDir, FreeLoopbackPort(), serveArguments);
        try
        {
            hub.WriteKey = await hub.CreateTokenAsync("write", ["--source", "test"], cancellationToken);
            await hub.StartAsync(cancellationToken);
            return hub;
        }
        catch
        {
            await hub.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <c>atalaya tokens create</c> on this data folder and returns the token (the last line of stdout).</summary>
    public async Task<string> CreateTokenAsync(string role, IEnumerable<string> extraArguments, CancellationToken cancellationToken = default)
    {
        var (exitCode, stdout, stderr) = await RunCliAsync(["tokens", "create", "--role", role, .. extraArguments, "--data", DataDir], cancellationToken);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (exitCode != 0 || lines.Length == 0)
        {
            throw new InvalidOperationException($"`atalaya tokens create --role {role}` exited {exitCode}.\nstdout:\n{stdout}\nstderr:\n{stderr}");
        }
        return lines[^1];
    }

    /// <summary>Runs one CLI command of the hub to completion (60 s at most).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunCliAsync(IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        using var process = new Process { StartInfo = ChildStartInfo(arguments) };
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`atalaya {string.Join(' ', arguments)}` did not finish in 60 s.");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts the hub process on the data folder and port and waits for <c>/readyz</c> to answer 200.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The hub is already running.");
        }
        _process?.Dispose();
        _starts++;
        WriteLog($"==== start {_starts} at {DateTime.UtcNow:O} ====");
        var process = new Process
        {
            StartInfo = ChildStartInfo(["serve", "--data", DataDir, "--urls", BaseAddress.GetLeftPart(UriPartial.Authority), .. _serveArguments]),
            EnableRaisingEvents = true,
        };
        process.OutputDataReceived += (_, e) => WriteLog(e.Data);
        process.ErrorDataReceived += (_, e) => WriteLog(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitUntilReadyAsync(process, cancellationToken);
    }

    /// <summary>SIGKILLs the hub (no shutdown hooks, no flush) and waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }
        await process.WaitForExitAsync();
        WriteLog($"==== killed at {DateTime.UtcNow:O} (exit code {process.ExitCode}) ====");
    }

    /// <summary>Asks the hub to stop as an operator's Ctrl+C or a service manager would (SIGTERM) and waits until it has exited and its output is read.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        WriteLog($"==== stopped at {DateTime.UtcNow:O} (exit code {process.ExitCode}) ====");
    }

    /// <summary>Kills the hub and starts it again on the same data folder and port.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await KillAsync();
        await StartAsync(cancellationToken);
    }

    /// <summary>A client for this hub (no proxy, no cookies, the given timeout).</summary>
    public HttpClient CreateClient(TimeSpan? timeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        };
        return new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(60) };
    }

    /// <summary>
    /// Opens the hub's SQLite database read-only, without pooling, for assertions. Safe while the
    /// hub runs (WAL readers do not block the writer) and after it was killed.
    /// </summary>
    public SqliteConnection OpenDatabaseReadOnly()
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        Atalaya.Engine.Storage.HubDatabase.RegisterFunctions(connection);
        return connection;
    }

    /// <summary>The last lines the hub wrote, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        lock (_logLock)
        {
            _log.Flush();
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
    }

    /// <summary>Lets dispose delete the data folder; without it the folder is kept for debugging.</summary>
    public void MarkPassed() => _passed = true;

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        lock (_logLock)
        {
            _log.Dispose();
        }
        if (_passed)
        {
            try
            {
                Directory.Delete(DataDir, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

    private async Task WaitUntilReadyAsync(Process process, CancellationToken cancellationToken)
    {
        using var client = CreateClient(TimeSpan.FromSeconds(5));
        var deadline = Stopwatch.StartNew();
        var last = "no answer yet";
        while (deadline.Elapsed < ReadyTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"The hub exited with code {process.ExitCode} before it was ready.\n{LogTail()}");
            }
            try
            {
                using var response = await client.GetAsync("readyz", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
                last = $"/readyz answered {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                last = ex.Message;
            }
            await Task.Delay(50, cancellationToken);
        }
        throw new TimeoutException($"The hub was not ready after {ReadyTimeout.TotalSeconds} s ({last}).\n{LogTail()}");
    }

    private void WriteLog(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_logLock)
        {
            _log.WriteLine(line);
        }
    }

    private static ProcessStartInfo ChildStartInfo(IEnumerable<string> arguments)
    {
        if (!File.Exists(HubAssembly))
        {
            throw new FileNotFoundException("The hub assembly is not next to the tests; does the test project reference src/Atalaya?", HubAssembly);
        }
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(HubAssembly);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        // The child must not inherit a data folder or listen address from the developer's shell.
        info.Environment.Remove("ATALAYA_DATA");
        info.Environment.Remove("ATALAYA_URLS");
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        return info;
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }
        if (Environment.ProcessPath is { } self
            && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }
        return "dotnet";
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
