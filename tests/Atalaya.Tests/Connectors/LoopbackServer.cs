using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Atalaya.Tests.Connectors;

/// <summary>What a fake provider does instead of answering normally (one request's worth).</summary>
public delegate Task Fault(HttpContext context);

/// <summary>
/// A fake provider's HTTP server: real Kestrel on 127.0.0.1 with an OS-chosen port, the routes the
/// fake maps, and a queue of faults applied to the next requests (a 429 with Retry-After, a 503, a
/// request that never answers, garbage) before the normal answer. It counts requests per route.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Fault> _down = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);

    private LoopbackServer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>From now on every request to <paramref name="route"/> gets <paramref name="fault"/> (a provider that is down); null brings it back.</summary>
    public void Down(string route, Fault? fault)
    {
        if (fault is null)
        {
            _down.TryRemove(route, out _);
        }
        else
        {
            _down[route] = fault;
        }
    }

    public static async Task<LoopbackServer> StartAsync(Action<WebApplication, LoopbackServer> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new LoopbackServer(app);
        map(app, server);
        await app.StartAsync();
        server.Url = app.Urls.First();
        return server;
    }

    /// <summary>The next requests to <paramref name="route"/> get these faults, in order.</summary>
    public void Enqueue(string route, params Fault[] faults)
    {
        var queue = _faults.GetOrAdd(route, _ => new ConcurrentQueue<Fault>());
        foreach (var fault in faults)
        {
            queue.Enqueue(fault);
        }
    }

    public int Hits(string route) => _hits.GetValueOrDefault(route);

    /// <summary>Counts the request and applies the next fault; true when a fault answered it.</summary>
    public async Task<bool> FaultAsync(string route, HttpContext context)
    {
        _hits.AddOrUpdate(route, 1, (_, n) => n + 1);
        if (_down.TryGetValue(route, out var down))
        {
            await down(context);
            return true;
        }
        if (_faults.TryGetValue(route, out var queue) && queue.TryDequeue(out var fault) && !ReferenceEquals(fault, Faults.Pass))
        {
            await fault(context);
            return true;
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The faults the tests use.</summary>
public static class Faults
{
    public static Fault Status(int status, string body = "", string? retryAfter = null, string contentType = "application/json") => async context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }
        await context.Response.WriteAsync(body);
    };

    /// <summary>Answers normally (a placeholder in the queue, so that a later request gets the next fault).</summary>
    public static readonly Fault Pass = _ => Task.CompletedTask;

    /// <summary>Never answers: holds the request until the client gives up.</summary>
    public static readonly Fault Hang = async context =>
    {
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    };

    public static readonly Fault Garbage = Status(200, "<html><body>502 Bad Gateway (nginx)</body></html>", contentType: "text/html");
}
