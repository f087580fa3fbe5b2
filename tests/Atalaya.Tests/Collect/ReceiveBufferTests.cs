using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Hosting;
using Atalaya.Tests.Support;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace Atalaya.Tests.Collect;

/// <summary>Kestrel receives into 64 KiB pooled blocks (<see cref="LargeBlockMemoryPool"/>); large batches arrive whole.</summary>
public sealed class ReceiveBufferTests
{
    [Fact]
    public void Hands_out_64_KiB_blocks_and_reuses_the_ones_given_back()
    {
        using var pool = new LargeBlockMemoryPool();
        Assert.Equal(64 * 1024, pool.MaxBufferSize);
        var first = pool.Rent(4096);
        Assert.Equal(64 * 1024, first.Memory.Length);
        var array = first.Memory;
        first.Dispose();
        using var again = pool.Rent();
        Assert.True(again.Memory.Span == array.Span, "a returned block was not reused");
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(64 * 1024 + 1));
    }

    [Fact]
    public void A_block_disposed_twice_goes_back_to_the_pool_once()
    {
        using var pool = new LargeBlockMemoryPool();
        var block = pool.Rent();
        block.Dispose();
        block.Dispose();
        using var a = pool.Rent();
        using var b = pool.Rent();
        Assert.False(a.Memory.Span == b.Memory.Span, "two leases share one block");
    }

    [Fact]
    public async Task The_hub_receives_through_the_large_block_pool_and_stores_a_large_batch_whole()
    {
        await using var hub = await TestHub.StartAsync();
        var factory = Assert.IsType<LargeBlockMemoryPool.Factory>(hub.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
        Assert.True(factory.PoolsCreated > 0, "Kestrel did not take its memory pool from the factory");

        // Many receive blocks' worth of body, each read in full.
        var events = new JsonArray(Enumerable.Range(0, 3000).Select(i => (JsonNode)Events.Valid("page_view", $"rx-{i}")).ToArray());
        var response = await hub.PostEventsAsync(events.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3000, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => $"rx-{i}").Order(StringComparer.Ordinal),
            StoredEvents.Query(hub.DataDirectory, "SELECT event_id FROM raw_events WHERE event_id LIKE 'rx-%' ORDER BY event_id"));
    }
}
