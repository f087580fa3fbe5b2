using Atalaya.Hosting;
using Atalaya.Http;
using Atalaya.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Atalaya.Tests.Memory;

/// <summary>
/// The hub gives memory back when it is idle (src/Atalaya/Hosting/IdleMemoryTrim.cs): a compacting
/// full collection after a quiet period, never while a request runs, and not when nothing was
/// allocated since the last one.
/// </summary>
public sealed class IdleMemoryTrimTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(5);

    private static (FakeTimeProvider Time, RequestActivity Activity, IdleMemoryTrim Trim) Create(long minAllocated = 0)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        var activity = new RequestActivity(time);
        var options = new ServeOptions { DataDirectory = "unused", Time = time, IdleTrimAfter = Idle };
        return (time, activity, new IdleMemoryTrim(activity, options) { MinAllocatedSinceTrim = minAllocated });
    }

    [Fact]
    public void Trims_only_after_the_idle_period_and_runs_a_full_collection()
    {
        var (time, _, trim) = Create();
        time.Advance(Idle - TimeSpan.FromMilliseconds(1));
        Assert.False(trim.TrimIfIdle(Idle));
        Assert.Equal(0, trim.Trims);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var fullCollections = GC.CollectionCount(GC.MaxGeneration);
        Assert.True(trim.TrimIfIdle(Idle));
        Assert.Equal(1, trim.Trims);
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > fullCollections);
    }

    [Fact]
    public void Never_trims_while_a_request_runs_and_waits_the_whole_period_after_it_ends()
    {
        var (time, activity, trim) = Create();
        activity.Started();
        time.Advance(Idle * 10);
        Assert.False(trim.TrimIfIdle(Idle));

        activity.Ended();
        time.Advance(Idle - TimeSpan.FromSeconds(1));
        Assert.False(trim.TrimIfIdle(Idle));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(trim.TrimIfIdle(Idle));
    }

    [Fact]
    public void Does_not_collect_again_when_too_little_was_allocated_since_the_last_trim()
    {
        var (time, _, trim) = Create(minAllocated: 1L << 50);
        time.Advance(Idle * 2);
        Assert.False(trim.TrimIfIdle(Idle));
        Assert.Equal(0, trim.Trims);
    }

    [Fact]
    public async Task A_running_hub_trims_after_its_requests_stop()
    {
        await using var hub = await TestHub.StartAsync(o => o with { IdleTrimAfter = TimeSpan.FromMilliseconds(300) });
        var trim = hub.Services.GetRequiredService<IdleMemoryTrim>();
        var before = trim.Trims;
        // Enough garbage that the trim has something to return.
        for (var i = 0; i < 40; i++)
        {
            GC.KeepAlive(new byte[1 << 20]);
        }
        using var response = await hub.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (trim.Trims == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.True(trim.Trims > before, "the idle hub never trimmed its heap");
    }
}
