using System.Buffers;
using System.Globalization;
using System.Text;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Queue;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>
/// What a cluster node holds of the queues (docs/scale-out.md, "Consumers, batches and acknowledgements"): messages are
/// cut to <see cref="ArrivalLine.MessageBytes"/> and a node's feed takes only a prefetch of them, so a
/// node that is still loading, or applies slower than the writers write, leaves the rest on the
/// broker instead of growing without bound (a node draining a migrated 10M folder reached gigabytes
/// and stalled before).
/// </summary>
public sealed class ClusterFeedFlowTests(ClusterServers servers) : IClassFixture<ClusterServers>
{
    [Fact]
    public void Parts_cut_ndjson_at_line_ends_within_the_size_and_keep_every_byte()
    {
        var body = new ArrayBufferWriter<byte>();
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            ArrivalLine.Write(body, i, Encoding.UTF8.GetBytes($"{{\"event_id\":\"e-{i}\",\"pad\":\"{new string('x', random.Next(0, 900))}\"}}"));
        }
        var parts = ArrivalLine.Parts(body.WrittenMemory, 4096).ToList();

        Assert.True(parts.Count > 10, $"{parts.Count} parts");
        Assert.All(parts, p => Assert.InRange(p.Length, 1, 4096));
        Assert.All(parts, p => Assert.Equal((byte)'\n', p.Span[^1]));
        Assert.Equal(body.WrittenSpan.ToArray(), parts.SelectMany(p => p.ToArray()).ToArray());
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), parts.SelectMany(p => ArrivalLine.Lines(p)).Select(l => ArrivalLine.Read(l).Arrival));
    }

    [Fact]
    public void A_line_longer_than_the_size_is_a_part_of_its_own()
    {
        var body = Encoding.UTF8.GetBytes("1 {\"a\":1}\n2 {\"long\":\"" + new string('y', 300) + "\"}\n3 {\"b\":2}\n");
        var parts = ArrivalLine.Parts(body, 64).Select(p => Encoding.UTF8.GetString(p.Span)).ToList();

        Assert.Equal(3, parts.Count);
        Assert.StartsWith("2 ", parts[1], StringComparison.Ordinal);
        Assert.Equal(Encoding.UTF8.GetString(body), string.Concat(parts));
    }

    [Fact]
    public async Task A_node_that_has_not_loaded_yet_takes_only_a_prefetch_of_the_feed_and_applies_every_event_once_it_follows()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(clickHouse, CancellationToken.None);
        var queue = new EventQueueOptions { Broker = servers.Rabbit.Uri, Shards = 2, Prefix = "flow." + Guid.NewGuid().ToString("N") };
        var kpis = new KpiEngine(KpiDictionary.Default);
        await using var feed = await ClusterFeed.SubscribeAsync(queue, clickHouse, kpis, recommendations: null, CancellationToken.None);
        await using var publisher = new EventPublisher(queue);

        // 300 feed messages of 3 orders each, as writers publish them while the node still loads.
        const int messages = 300, perMessage = 3;
        var day = new DateTimeOffset(ClusterData.LastDay.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        for (var m = 0; m < messages; m++)
        {
            var body = new ArrayBufferWriter<byte>();
            for (var e = 0; e < perMessage; e++)
            {
                var n = m * perMessage + e;
                ArrivalLine.Write(body, n, Encoding.UTF8.GetBytes(ClusterReloadTests.Order($"flow-{n}", day.AddSeconds(n)).ToJsonString()));
            }
            await publisher.PublishWrittenAsync(body.WrittenMemory, CancellationToken.None);
        }

        // The node holds its prefetch; the broker keeps the rest (rabbitmqctl asks the queue itself).
        var held = await Wait.ForAsync(async () => Counts(await servers.Rabbit.CtlAsync("list_queues", "name", "messages_ready", "messages_unacknowledged"), feed.QueueName!),
            c => c.Ready + c.Unacknowledged == messages, "the broker counts every feed message", seconds: 60);
        Assert.InRange(held.Unacknowledged, 1, 64);
        Assert.Equal(messages - held.Unacknowledged, held.Ready);
        Assert.Equal(0, feed.Applied);

        // Loaded (ClickHouse is empty) and following: every event is applied, each once.
        await feed.LoadAsync(null, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var following = Task.Run(() => feed.FollowAsync(stop.Token));
        await Wait.UntilAsync(() => feed.Applied == messages * perMessage, $"{messages * perMessage} events applied", seconds: 60);
        var drained = await Wait.ForAsync(async () => Counts(await servers.Rabbit.CtlAsync("list_queues", "name", "messages_ready", "messages_unacknowledged"), feed.QueueName!),
            c => c.Ready + c.Unacknowledged == 0, "the node acknowledged every feed message", seconds: 60);
        Assert.Equal((0, 0), drained);
        Assert.Equal(messages * perMessage, feed.Applied);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => following);
    }

    /// <summary>
    /// The load reads month by month with the next month's query sent ahead (ClickHouse sorts it
    /// while the node applies). A load that fails half-way, with that query out, surfaces its own
    /// failure, leaves no query running on the server, and a load from empty afterwards has every
    /// event once. (The load disposes the query sent ahead; without that, the runtime closed the
    /// abandoned connection soon enough in tries of this test that it cannot tell the two apart.)
    /// </summary>
    [Fact]
    public async Task A_load_failing_half_way_surfaces_its_failure_leaves_no_query_running_and_a_new_load_has_every_event()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(clickHouse, CancellationToken.None);
        // 20,000 orders in each of three months: ten blocks (2,000 events) a month, and more bytes
        // than the connection buffers, so a month's query sent ahead waits on ClickHouse. Months of
        // 1999, which no other test's data has: the load's queries name their month, so the check
        // below sees this test's queries only, whatever runs beside it.
        var start = new DateTimeOffset(1999, 1, 15, 12, 0, 0, TimeSpan.Zero);
        const int perMonth = 20_000, all = 3 * perMonth;
        var events = Enumerable.Range(0, all).Select(n => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(
            Padded(ClusterReloadTests.Order($"load-{n}", start.AddMonths(n / perMonth).AddSeconds(n % perMonth))).ToJsonString())).ToList();
        await new ClickHouseEventWriter(clickHouse).InsertAsync(events, CancellationToken.None);
        var queue = new EventQueueOptions { Broker = servers.Rabbit.Uri, Shards = 1, Prefix = "load." + Guid.NewGuid().ToString("N") };

        const string running = "SELECT count() FROM system.processes WHERE query LIKE '%toYYYYMM(ts) = 199902%' AND query NOT LIKE '%system.processes%'";
        using var system = new ClickHouseClient(ClickHouseSettings.Parse(new Uri(servers.ClickHouse.Url, "system").ToString()));
        await using (var feed = await ClusterFeed.SubscribeAsync(queue, clickHouse, new KpiEngine(KpiDictionary.Default), recommendations: null, CancellationToken.None))
        {
            // A failure after the first block of the first month, once the second month's query is
            // out on ClickHouse (not a cancellation, which would end that request by itself).
            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => feed.LoadAsync(_ =>
            {
                Wait.UntilAsync(async () => await system.ScalarInt64Async(running, CancellationToken.None) == 1, "the next month's query running on ClickHouse", seconds: 30)
                    .GetAwaiter().GetResult();
                throw new InvalidOperationException("applying failed");
            }, CancellationToken.None));
            Assert.Equal("applying failed", failure.Message);
            Assert.Equal(2_000, feed.Applied);
            // Checked before the feed is disposed.
            await Wait.UntilAsync(async () => await system.ScalarInt64Async(running, CancellationToken.None) == 0, "no load query left running on ClickHouse", seconds: 30);
        }

        var kpis = new KpiEngine(KpiDictionary.Default);
        await using (var again = await ClusterFeed.SubscribeAsync(queue, clickHouse, kpis, recommendations: null, CancellationToken.None))
        {
            await again.LoadAsync(null, CancellationToken.None);
            Assert.Equal(all, again.Applied);
        }
        Assert.Equal(all, kpis.Projection.Count);
    }

    /// <summary>An event with 2 KB more payload, so that a month of them is more than a connection buffers.</summary>
    private static System.Text.Json.Nodes.JsonObject Padded(System.Text.Json.Nodes.JsonObject order)
    {
        order["properties"]!["note"] = new string('x', 2_048);
        return order;
    }

    [Fact]
    public async Task A_writer_batch_larger_than_a_message_reaches_a_node_whole_through_its_parts()
    {
        var clickHouse = await servers.ClickHouse.NewDatabaseAsync();
        await EventsSchema.EnsureAsync(clickHouse, CancellationToken.None);
        var queue = new EventQueueOptions { Broker = servers.Rabbit.Uri, Shards = 1, Prefix = "parts." + Guid.NewGuid().ToString("N") };
        var kpis = new KpiEngine(KpiDictionary.Default);
        await using var feed = await ClusterFeed.SubscribeAsync(queue, clickHouse, kpis, recommendations: null, CancellationToken.None);
        await feed.LoadAsync(null, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var following = Task.Run(() => feed.FollowAsync(stop.Token));
        await using var publisher = new EventPublisher(queue);

        // 3,000 orders (more than two of ArrivalLine.MessageBytes) queued before the writer starts:
        // its first batch takes them all, and its publish to the written-events exchange goes in parts.
        const int orders = 3_000;
        var day = new DateTimeOffset(ClusterData.LastDay.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        var body = new ArrayBufferWriter<byte>();
        for (var n = 0; n < orders; n++)
        {
            var order = ClusterReloadTests.Order($"part-{n}", day.AddSeconds(n));
            order["properties"]!["note"] = new string('n', 400);
            ArrivalLine.Write(body, n, Encoding.UTF8.GetBytes(order.ToJsonString()));
        }
        Assert.True(body.WrittenCount > 2 * ArrivalLine.MessageBytes, $"{body.WrittenCount} bytes");
        await Task.WhenAll(ArrivalLine.Parts(body.WrittenMemory, 700_000).Select(part => publisher.PublishAsync(0, part, null, CancellationToken.None)));

        await using var writer = await ClusterWriter.StartAsync(queue, clickHouse, publisher);
        await Wait.UntilAsync(() => feed.Applied == orders, $"the node applied all {orders} orders", seconds: 120);
        Assert.Equal(orders, writer.Inserted);
        Assert.Equal(0, writer.FeedMisses);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => following);
    }

    private static (long Ready, long Unacknowledged) Counts(string listQueues, string queue)
    {
        foreach (var line in listQueues.Split('\n'))
        {
            var fields = line.Split('\t', StringSplitOptions.TrimEntries);
            if (fields.Length == 3 && fields[0] == queue)
            {
                return (long.Parse(fields[1], CultureInfo.InvariantCulture), long.Parse(fields[2], CultureInfo.InvariantCulture));
            }
        }
        throw new InvalidOperationException($"queue {queue} is not in rabbitmqctl's list:\n{listQueues}");
    }
}
