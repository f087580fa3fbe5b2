using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cli;

/// <summary>
/// The README's first command: <c>serve --demo</c> on an empty folder loads demo data, prints an
/// admin token and a write key that work, and its structured logs never carry a token.
/// </summary>
public sealed class ServeDemoTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "atalaya-demo-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Serve_demo_fills_an_empty_folder_and_prints_working_tokens_that_logs_never_contain()
    {
        var port = ServeProcess.FreePort();
        var url = $"http://127.0.0.1:{port}";
        var (stdout, admin, write) = await RunDemoAsync(url, async client =>
        {
            var ready = JsonDocument.Parse(await client.GetStringAsync("/readyz")).RootElement;
            Assert.True(ready.GetProperty("events").GetInt64() > 1000, "the demo should load thousands of events");
        });

        Assert.Matches("^atl_admin_[0-9A-Za-z]{43}$", admin);
        Assert.Matches("^atl_write_[0-9A-Za-z]{43}$", write);
        Assert.Contains($"Atalaya is running at {url}", stdout);

        // Every structured log record (one JSON object a line) is free of tokens.
        var records = stdout.Split('\n').Where(line => line.StartsWith("{\"Timestamp\"", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(records);
        Assert.All(records, record => Assert.DoesNotContain("atl_", record));

        // On a folder that already has data, --demo adds none, and the previous start's four demo
        // tokens are revoked rather than left working beside four new ones.
        var (second, secondAdmin, _) = await RunDemoAsync(url, async client =>
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, admin));
        });
        Assert.Contains("already holds", second);
        Assert.Contains("Revoked the 4 demo tokens printed by the previous start", second);
        Assert.NotEqual(admin, secondAdmin);
        var tokens = new Engine.Access.TokenStore(Engine.Storage.HubDatabase.Open(_data)).List();
        Assert.Equal(8, tokens.Count(t => t.Name.StartsWith("demo ", StringComparison.Ordinal)));
        Assert.Equal(4, tokens.Count(t => t.Name.StartsWith("demo ", StringComparison.Ordinal) && !t.IsRevoked));
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/kpi/definitions");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<(string Stdout, string Admin, string Write)> RunDemoAsync(string url, Func<HttpClient, Task> whileRunning)
    {
        await using var serve = await ServeProcess.StartAsync(url, "--demo", "--demo-days", "3", "--data", _data, "--log-format", "json");
        var admin = serve.Line("Admin token:");
        var write = serve.Line("Write key:");
        using var client = new HttpClient { BaseAddress = new Uri(url) };
        await whileRunning(client);

        var send = new HttpRequestMessage(HttpMethod.Post, "/api/events")
        {
            Content = new StringContent(Events.Valid("page_view").ToJsonString(), Encoding.UTF8, "application/json"),
        };
        send.Headers.Authorization = new AuthenticationHeaderValue("Bearer", write);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(send)).StatusCode);
        var withAdmin = new HttpRequestMessage(HttpMethod.Post, "/api/events")
        {
            Content = new StringContent(Events.Valid("page_view").ToJsonString(), Encoding.UTF8, "application/json"),
        };
        withAdmin.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(withAdmin)).StatusCode);
        return (serve.Output, admin, write);
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }
}
