using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Atalaya.Tests.Alerts;

/// <summary>
/// A loopback HTTP receiver standing in for a Slack incoming webhook or a webhook consumer (outside
/// providers we cannot reach). <see cref="Answer"/> decides each reply, errors included; every
/// request is recorded with its headers and body, and the ones answered 2xx are the accepted deliveries.
/// </summary>
internal sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Receiver(WebApplication app) => _app = app;

    public sealed record Request(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, int Status);

    /// <summary>(status, Retry-After seconds or null, body) for the n-th request (0-based).</summary>
    public Func<int, (int Status, int? RetryAfter, string Body)> Answer { get; set; } = _ => (200, null, "ok");

    /// <summary>Called as each request arrives (tests look at the sender's state then).</summary>
    public Action<int>? OnRequest { get; set; }

    public ConcurrentQueue<Request> Requests { get; } = new();

    public IEnumerable<Request> Accepted => Requests.Where(r => r.Status is >= 200 and < 300);

    public Uri Url { get; private set; } = null!;

    public static async Task<Receiver> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new Receiver(app);
        var count = -1;
        app.Run(async context =>
        {
            var n = Interlocked.Increment(ref count);
            receiver.OnRequest?.Invoke(n);
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var (status, retryAfter, text) = receiver.Answer(n);
            receiver.Requests.Enqueue(new Request(context.Request.Path, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray(), status));
            context.Response.StatusCode = status;
            if (retryAfter is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            await context.Response.WriteAsync(text);
        });
        await app.StartAsync();
        receiver.Url = new Uri(app.Urls.First() + "/hook/T000/B000/XXXXsecretpath");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
