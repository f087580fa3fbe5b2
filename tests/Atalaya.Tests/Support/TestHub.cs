using System.Net.Http.Headers;
using System.Text;
using Atalaya.Engine.Access;
using Atalaya.Hosting;
using Atalaya.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Atalaya.Tests.Support;

/// <summary>
/// A real hub on a loopback port (Kestrel, port chosen by the OS) over a temporary data folder,
/// with a write key ready. <see cref="RestartAsync"/> stops it and starts a new one on the same folder.
/// </summary>
public sealed class TestHub : IAsyncDisposable
{
    private WebApplication? _app;

    private TestHub(string dataDirectory, Func<ServeOptions, ServeOptions>? configure)
    {
        DataDirectory = dataDirectory;
        Configure = configure ?? (o => o);
    }

    public string DataDirectory { get; }

    public Func<ServeOptions, ServeOptions> Configure { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string WriteKey { get; private set; } = "";

    public Engine.Hub Hub => _app!.Services.GetRequiredService<HubState>().Current!;

    public IServiceProvider Services => _app!.Services;

    public static async Task<TestHub> StartAsync(Func<ServeOptions, ServeOptions>? configure = null, string? dataDirectory = null)
    {
        var hub = new TestHub(dataDirectory ?? Path.Combine(Path.GetTempPath(), "atalaya-test-" + Guid.NewGuid().ToString("N")), configure);
        await hub.StartAppAsync();
        hub.WriteKey = hub.Hub.Tokens.Create(new TokenRequest(Role.Write, "test", Source: "test")).Secret;
        return hub;
    }

    private async Task StartAppAsync()
    {
        // No idle heap trim by default: many hubs share the test process, and each one's full
        // collections would stop all the others (IdleMemoryTrimTests turns it on).
        var options = Configure(new ServeOptions { DataDirectory = DataDirectory, Urls = "http://127.0.0.1:0", IdleTrimAfter = null });
        _app = HubHost.Build(options);
        await _app.StartAsync();
        var address = _app.Urls.First();
        BaseAddress = new Uri(address);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var state = _app.Services.GetRequiredService<HubState>();
        // Generous: a hub opens in well under a second here, but CI machines run many test classes
        // at once on two cores (a 30 s limit once failed there, stop 37).
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (state.Current is null)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The hub did not become ready in 120 s.");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>Stops the server, runs <paramref name="whileStopped"/> (to change the data folder), starts it again.</summary>
    public async Task RestartAsync(Action? whileStopped = null)
    {
        await StopAppAsync();
        whileStopped?.Invoke();
        await StartAppAsync();
    }

    public string CreateToken(Role role, string? source = null, string[]? stores = null, string[]? countries = null) =>
        Hub.Tokens.Create(new TokenRequest(role, Source: source, Stores: stores, Countries: countries)).Secret;

    /// <summary>POSTs a body with the write key as Bearer.</summary>
    public Task<HttpResponseMessage> PostEventsAsync(string body, string contentType = "application/json", string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events")
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key ?? WriteKey);
        return Client.SendAsync(request);
    }

    /// <summary>POSTs a Segment call with the write key as the HTTP Basic username (as SDKs do).</summary>
    public Task<HttpResponseMessage> PostSegmentAsync(string path, string body, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key != "")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes((key ?? WriteKey) + ":")));
        }
        return Client.SendAsync(request);
    }

    private async Task StopAppAsync()
    {
        if (_app is not null)
        {
            Client.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAppAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
