using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Privacy;

/// <summary>
/// The environment file's <c>privacy.ip_v4_prefix_bits</c> and <c>ip_v6_prefix_bits</c> reach the
/// collector of a real <c>atalaya serve</c>: the addresses it stores keep exactly that many bits.
/// </summary>
public sealed class ServeIpSettingsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "atalaya-ipbits-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Serve_stores_addresses_truncated_to_the_environment_files_prefix_lengths()
    {
        var config = Path.Combine(_folder, "config");
        var data = Path.Combine(_folder, "data");
        Directory.CreateDirectory(config);
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "config", "environments"), "*.yaml"))
        {
            var yaml = File.ReadAllText(file)
                .Replace("ip_v4_prefix_bits: 24", "ip_v4_prefix_bits: 16", StringComparison.Ordinal)
                .Replace("ip_v6_prefix_bits: 48", "ip_v6_prefix_bits: 32", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(config, Path.GetFileName(file)), yaml);
        }
        Assert.Contains("ip_v4_prefix_bits: 16", File.ReadAllText(Path.Combine(config, "dev.yaml")), StringComparison.Ordinal);

        var url = $"http://127.0.0.1:{FreePort()}";
        using var process = Process.Start(AtalayaProcess.StartInfo("serve", "--demo", "--demo-days", "1", "--data", data, "--urls", url, "--config", config, "--no-scheduler"))!;
        var output = new StringBuilder();
        var banner = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
                if (e.Data?.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal) == true)
                {
                    banner.TrySetResult();
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await banner.Task.WaitAsync(TimeSpan.FromSeconds(120));
            string text;
            lock (output)
            {
                text = output.ToString();
            }
            var write = text.Split('\n').Single(l => l.TrimStart().StartsWith("Write key:", StringComparison.Ordinal)).Split("Write key:")[1].Trim();
            using var client = new HttpClient { BaseAddress = new Uri(url) };
            foreach (var (id, ip) in new[] { ("ipbits-v4", "203.0.113.77"), ("ipbits-v6", "2001:db8:1234:5678::1") })
            {
                var e = Events.Valid("page_view", id);
                e["context"]!.AsObject()["ip"] = ip;
                using var send = new HttpRequestMessage(HttpMethod.Post, "/api/events")
                {
                    Content = new StringContent(e.ToJsonString(), Encoding.UTF8, "application/json"),
                };
                send.Headers.Authorization = new AuthenticationHeaderValue("Bearer", write);
                using var response = await client.SendAsync(send);
                Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        var stored = StoredEvents.All(data).Where(e => e.GetProperty("event_id").GetString()!.StartsWith("ipbits-", StringComparison.Ordinal))
            .ToDictionary(e => e.GetProperty("event_id").GetString()!, e => e.GetProperty("context").GetProperty("ip").GetString());
        Assert.Equal("203.0.0.0", stored["ipbits-v4"]);
        Assert.Equal("2001:db8::", stored["ipbits-v6"]);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
