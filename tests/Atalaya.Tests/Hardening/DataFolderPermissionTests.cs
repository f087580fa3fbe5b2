using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Atalaya.Engine.Storage;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Hardening;

/// <summary>
/// The data folder is 0700 and every file in it 0600 (database, WAL, SHM, snapshots, locks), even
/// when the hub runs under umask 000, and a folder left loose by an older version is tightened on open.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataFolderPermissionTests
{
    [Fact]
    public async Task Under_umask_000_the_server_and_the_cli_write_nothing_readable_by_others()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "atalaya-perm-" + Guid.NewGuid().ToString("N"));
        try
        {
            var token = await RunUnderUmask000Async(["tokens", "create", "--role", "write", "--source", "test", "--data", dataDir]);
            var key = token.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
            var port = FreePort();
            using var server = Process.Start(UnderUmask000(["serve", "--data", dataDir, "--urls", $"http://127.0.0.1:{port}"]))!;
            try
            {
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
                await WaitReadyAsync(client, server);
                using var request = new HttpRequestMessage(HttpMethod.Post, "api/events")
                {
                    Content = new StringContent(Events.Valid("page_view", "perm-1").ToJsonString(), Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                using var response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            finally
            {
                // SIGTERM: the hub closes cleanly and writes its snapshots.
                using (var term = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                {
                    await term.WaitForExitAsync();
                }
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await server.WaitForExitAsync(timeout.Token);
            }
            // A job run from the CLI takes a lock file and writes its holder.
            await RunUnderUmask000Async(["jobs", "run", "daily_batch", "--data", dataDir], mustSucceed: false);

            // The job run took a lock file; the snapshots are written on a clean stop (not asserted:
            // a stop cut short on a loaded machine skips them, and their mode is checked when present).
            var files = Directory.GetFiles(dataDir, "*", SearchOption.AllDirectories);
            Assert.Contains(files, f => f.EndsWith(".lock", StringComparison.Ordinal));
            AssertPrivate(dataDir);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_loose_folder_from_an_older_version_is_tightened_when_opened()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "atalaya-perm-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var loose = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(dataDir, loose | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        await File.WriteAllBytesAsync(Path.Combine(dataDir, "kpi-projection.bin"), [1, 2, 3]);
        File.SetUnixFileMode(Path.Combine(dataDir, "kpi-projection.bin"), loose);
        try
        {
            await using (var hub = await TestHub.StartAsync(dataDirectory: dataDir))
            {
                Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(Events.Valid("page_view", "perm-2").ToJsonString())).StatusCode);
                AssertPrivate(dataDir);
            }
        }
        finally
        {
            if (Directory.Exists(dataDir))
            {
                Directory.Delete(dataDir, recursive: true);
            }
        }
    }

    private static void AssertPrivate(string dataDir)
    {
        var loose = new List<string>();
        foreach (var entry in new DirectoryInfo(dataDir).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Append(new DirectoryInfo(dataDir)))
        {
            var expected = entry is DirectoryInfo ? PrivateFiles.FolderMode : PrivateFiles.FileMode;
            var mode = File.GetUnixFileMode(entry.FullName);
            if (mode != expected)
            {
                loose.Add($"{entry.FullName}: {Convert.ToString((int)mode, 8)}");
            }
        }
        Assert.True(loose.Count == 0, "readable by others:\n" + string.Join("\n", loose));
        Assert.Contains(Directory.GetFiles(dataDir), f => f.EndsWith("atalaya.db-wal", StringComparison.Ordinal) || f.EndsWith("atalaya.db", StringComparison.Ordinal));
    }

    private static ProcessStartInfo UnderUmask000(string[] arguments)
    {
        // The shell sets the umask, then becomes the hub: what the hub creates is up to the hub alone.
        var info = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("umask 000; exec \"$@\"");
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(AtalayaProcess.DllPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment.Remove("ATALAYA_DATA");
        return info;
    }

    private static async Task<string> RunUnderUmask000Async(string[] arguments, bool mustSucceed = true)
    {
        using var process = Process.Start(UnderUmask000(arguments))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(!mustSucceed || process.ExitCode == 0, $"atalaya {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    private static async Task WaitReadyAsync(HttpClient client, Process server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            Assert.False(server.HasExited, "the hub exited before it was ready");
            try
            {
                using var ready = await client.GetAsync("readyz", timeout.Token);
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(50, timeout.Token);
        }
    }

    internal static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
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
