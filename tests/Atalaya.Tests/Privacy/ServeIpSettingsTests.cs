using System.Net;
using System.Net.Http.Headers;
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

        await using (var serve = await ServeProcess.StartAsync(null, "--demo", "--demo-days", "1", "--data", data, "--config", config, "--no-scheduler"))
        {
            var write = serve.Line("Write key:");
            using var client = new HttpClient { BaseAddress = new Uri(serve.Url) };
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

        var stored = StoredEvents.All(data).Where(e => e.GetProperty("event_id").GetString()!.StartsWith("ipbits-", StringComparison.Ordinal))
            .ToDictionary(e => e.GetProperty("event_id").GetString()!, e => e.GetProperty("context").GetProperty("ip").GetString());
        Assert.Equal("203.0.0.0", stored["ipbits-v4"]);
        Assert.Equal("2001:db8::", stored["ipbits-v6"]);
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
