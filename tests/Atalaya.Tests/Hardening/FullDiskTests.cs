using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Atalaya.Engine.Access;
using Atalaya.Hosting;
using Atalaya.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Atalaya.Tests.Hardening;

/// <summary>
/// A full disk does not stop the hub: on a small tmpfs filled to the last byte, the collector
/// answers 503 with Retry-After, reads are served, every background writer (token last-used
/// times, the KPI snapshot, the audit, job runs) fails, logs (once when it starts failing, then once a
/// minute) and carries on; once space comes back
/// the collector accepts again, without a restart.
/// </summary>
public sealed class FullDiskTests
{
    [Fact]
    public async Task The_hub_keeps_serving_reads_answers_503_to_writes_and_accepts_again_when_space_returns()
    {
        await using var disk = await SmallDisk.MountAsync(megabytes: 24);
        var dataDir = Path.Combine(disk.Path, "data");
        await using var hub = await TestHub.StartAsync(o => o with
        {
            MaintenanceInterval = TimeSpan.FromMilliseconds(50),
            SnapshotInterval = TimeSpan.Zero,
        }, dataDir);
        var analyst = hub.CreateToken(Role.Analyst);
        var admin = hub.CreateToken(Role.Admin);
        var loader = hub.Services.GetServices<IHostedService>().OfType<HubLoader>().Single();
        var lifetime = hub.Services.GetRequiredService<IHostApplicationLifetime>();
        var id = 0;
        string Batch(int events) => "[" + string.Join(",", Enumerable.Range(0, events).Select(_ =>
            Events.Valid("page_view", $"disk-{++id}").ToJsonString())) + "]";
        Assert.Equal(HttpStatusCode.OK, (await hub.PostEventsAsync(Batch(50))).StatusCode);

        // Fill the disk: a filler file up to the last free byte, then the collector's own writes.
        var filler = Path.Combine(disk.Path, "filler");
        disk.Fill(filler);
        HttpResponseMessage? refused = null;
        for (var attempt = 0; attempt < 200 && refused is null; attempt++)
        {
            var response = await hub.PostEventsAsync(Batch(200));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refused = response;
            }
        }
        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter is not null, "a 503 must say when to retry");

        // While full: the background writers fail and carry on; reads and the health check answer.
        var failuresBefore = loader.Failures;
        var passesBefore = loader.Passes;
        await AuditWindowTests.WaitUntilAsync(() => loader.Failures > failuresBefore && loader.Passes > passesBefore + 3,
            "the maintenance loop to fail at least once and keep going");
        // A step failing on every pass is logged when it starts failing, then once a minute.
        var linesBefore = loader.FailureLines;
        failuresBefore = loader.Failures;
        await AuditWindowTests.WaitUntilAsync(() => loader.Failures > failuresBefore + 20, "twenty more failed steps");
        Assert.True(loader.FailureLines - linesBefore <= 3,
            $"{loader.FailureLines - linesBefore} error lines for {loader.Failures - failuresBefore} failed steps in a few seconds: a failing step must be logged once a minute, not on every pass");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await GetAsync(hub, analyst, "/api/kpi/query?metric=pageviews&aggregate=total&start_date=2026-03-01&end_date=2026-03-01"));
        }
        Assert.Equal(HttpStatusCode.OK, (await hub.Client.GetAsync("/healthz")).StatusCode);
        var jobRun = await PostAsync(hub, admin, "/api/jobs/daily_batch/run");
        Assert.True(jobRun is HttpStatusCode.ServiceUnavailable or HttpStatusCode.Accepted, $"a job run on a full disk answered {(int)jobRun}");
        await AuditWindowTests.WaitUntilAsync(() => hub.Hub.Audit.FailedCommits > 0, "the audit to meet the full disk");
        Assert.False(lifetime.ApplicationStopping.IsCancellationRequested, "the host is stopping");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await hub.PostEventsAsync(Batch(200))).StatusCode);

        // Space comes back: the collector accepts again, no restart.
        File.Delete(filler);
        var back = Batch(10);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await hub.PostEventsAsync(back)).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "Gave up waiting for the collector to accept again.");
            await Task.Delay(50);
        }
        Assert.False(lifetime.ApplicationStopping.IsCancellationRequested);
        Assert.Contains($"disk-{id}", string.Join(",", StoredEvents.Query(dataDir, $"SELECT event_id FROM raw_events WHERE event_id = 'disk-{id}';")));
        // The audit's kept reads are written once there is room again.
        await AuditWindowTests.WaitUntilAsync(() => StoredEvents.Query(dataDir,
            "SELECT count(*) FROM audit_log WHERE action = 'GET /api/kpi/query' AND status = 200;").Single() == "5", "the kept read entries to be written");
    }

    private static async Task<HttpStatusCode> GetAsync(TestHub hub, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await hub.Client.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> PostAsync(TestHub hub, string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await hub.Client.SendAsync(request);
        return response.StatusCode;
    }
}

/// <summary>A small tmpfs mounted for one test (needs root, as the test machines and CI run), unmounted on dispose.</summary>
internal sealed class SmallDisk : IAsyncDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    public static async Task<SmallDisk> MountAsync(int megabytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "atalaya-fulldisk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            Assert.Fail($"Cannot mount a {megabytes} MB tmpfs at {path} (exit {code}: {output.Trim()}). This test fills a disk and needs root to mount one; run the suite as root (CI does).");
        }
        return new SmallDisk(path);
    }

    /// <summary>Writes <paramref name="file"/> until the disk has no byte left.</summary>
    public void Fill(string file)
    {
        var chunk = new byte[64 * 1024];
        using var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException)
        {
        }
        foreach (var size in new[] { 4096, 512, 1 })
        {
            try
            {
                while (true)
                {
                    stream.Write(chunk, 0, size);
                }
            }
            catch (IOException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        var (code, output) = await RunAsync("umount", "-l", Path);
        Assert.True(code == 0, $"umount {Path}: {output}");
        Directory.Delete(Path);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
