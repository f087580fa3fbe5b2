using System.Net;
using System.Text.Json;
using Atalaya.Engine.Collect;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Collect;

/// <summary>
/// Normalization and compression run on threads of a lower priority (docs/collector.md, "Reads
/// under heavy ingest"), and so does the recommendation model's follower, so that a dashboard's
/// read gets the CPU first while collectors send as fast as they can: the kernel's own view of
/// those threads says nice 10, and events still come through them.
/// </summary>
public sealed class IngestThreadsTests
{
    [Fact]
    public async Task Events_are_normalized_on_threads_the_kernel_runs_at_a_lower_priority()
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal(1, JsonDocument.Parse(body).RootElement.GetProperty("accepted").GetInt32());

        Assert.True(OperatingSystem.IsLinux(), "the priority is a Linux thread's nice value");
        var nices = ProcessThreads.Nices("self", "atalaya-normali");
        Assert.Equal(Environment.ProcessorCount, nices.Count);
        Assert.All(nices, nice => Assert.Equal(Engine.Storage.BackgroundPriority.Nice, nice));
        Assert.True(IngestThreads.Lowered);
        // The request threads keep the normal priority.
        Assert.Equal("0", File.ReadAllText("/proc/self/stat")[(File.ReadAllText("/proc/self/stat").LastIndexOf(')') + 2)..].Split(' ')[19 - 3]);
    }

    [Fact]
    public async Task The_recommendation_model_follows_the_log_on_a_thread_the_kernel_runs_at_a_lower_priority()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Hub.Recommendations.Loaded.WaitAsync(TimeSpan.FromSeconds(60));
        using var response = await hub.PostEventsAsync(Events.Valid("page_view").ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The follower applied the event, so its thread is running.
        await hub.Hub.Recommendations.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(hub.Hub.Recommendations.ConsumerLowered);
        // Hubs of other tests in this process have followers of their own: every one is lowered.
        var nices = ProcessThreads.Nices("self", "atalaya-recomme");
        Assert.NotEmpty(nices);
        Assert.All(nices, nice => Assert.Equal(Engine.Storage.BackgroundPriority.Nice, nice));
    }
}
