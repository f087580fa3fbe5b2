using System.Collections.Concurrent;
using System.Text;
using Atalaya.Engine.Queue;
using Atalaya.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Atalaya.Tests.Queue;

/// <summary>
/// The event queue against a real RabbitMQ node: confirms, concurrency, redelivery after a consumer
/// dies, single active consumers and dead letters. Each test uses queues of its own on the class's
/// broker.
/// </summary>
public sealed class EventQueueTests(RabbitBroker broker) : IClassFixture<RabbitBroker>
{
    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(QueuedMessage message) => Encoding.UTF8.GetString(message.Body.Span);

    [Fact]
    public async Task A_publish_returns_after_the_confirm_and_the_message_is_in_its_shard_queue()
    {
        var options = broker.Options();
        await using var publisher = new EventPublisher(options);
        await using var probe = await broker.ProbeAsync();

        await publisher.PublishAsync(1, Utf8("hello"), new Dictionary<string, object?> { ["x-events"] = 3 }, CancellationToken.None);

        // No wait: once PublishAsync has returned, the broker has the message.
        Assert.Equal(1u, await probe.ReadyAsync(publisher.Topology.ShardQueue(1)));
        Assert.Equal(0u, await probe.ReadyAsync(publisher.Topology.ShardQueue(0)));
        var got = Assert.Single(await probe.DrainAsync(publisher.Topology.ShardQueue(1)));
        Assert.Equal("hello", got.Body);
        Assert.Equal(3, Convert.ToInt32(got.Headers["x-events"], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Ten_thousand_concurrent_publishes_all_arrive_exactly_once()
    {
        var options = broker.Options(shards: 4) with { PublishChannels = 8 };
        await using var publisher = new EventPublisher(options);
        var ids = Enumerable.Range(0, 10_000).Select(i => $"event-{i}").ToList();

        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (id, ct) =>
            await publisher.PublishAsync(publisher.Topology.ShardOf(id), Utf8(id), null, ct));

        var seen = new ConcurrentDictionary<string, int>();
        var wrongShard = 0;
        await using var consumer = await EventConsumer.StartAsync(options, [0, 1, 2, 3], (batch, _) =>
        {
            foreach (var message in batch)
            {
                seen.AddOrUpdate(Text(message), 1, (_, n) => n + 1);
                if (message.Shard != EventQueueTopology.ShardOf(Text(message), 4))
                {
                    Interlocked.Increment(ref wrongShard);
                }
            }
            return Task.CompletedTask;
        });
        await Wait.UntilAsync(() => consumer.Acknowledged == ids.Count, "all 10,000 messages consumed and acknowledged");
        await consumer.DisposeAsync();

        Assert.Equal(ids.ToHashSet(), seen.Keys.ToHashSet());
        Assert.All(seen, pair => Assert.Equal(1, pair.Value));
        Assert.Equal(0, wrongShard);
        await using var probe = await broker.ProbeAsync();
        for (var shard = 0; shard < 4; shard++)
        {
            Assert.Equal(0u, await probe.ReadyAsync(publisher.Topology.ShardQueue(shard))); // all acknowledged
        }
    }

    [Fact]
    public async Task Messages_a_consumer_did_not_acknowledge_before_it_died_go_to_the_next_consumer()
    {
        var options = broker.Options(shards: 1);
        await using var publisher = new EventPublisher(options);
        foreach (var id in new[] { "a", "b", "c" })
        {
            await publisher.PublishAsync(0, Utf8(id), null, CancellationToken.None);
        }

        var firstGot = new ConcurrentQueue<string>();
        var first = await EventConsumer.StartAsync(options, [0], async (batch, ct) =>
        {
            foreach (var message in batch)
            {
                firstGot.Enqueue(Text(message));
            }
            await Task.Delay(Timeout.Infinite, ct); // the writer hangs, then its process dies
        });
        await Wait.UntilAsync(() => firstGot.Count == 3, "the first consumer received the three messages");
        await first.DisposeAsync(); // closes its connection without acknowledging

        var secondGot = new ConcurrentQueue<QueuedMessage>();
        await using var second = await EventConsumer.StartAsync(options, [0], (batch, _) =>
        {
            foreach (var message in batch)
            {
                secondGot.Enqueue(message);
            }
            return Task.CompletedTask;
        });
        await Wait.UntilAsync(() => secondGot.Count == 3, "the second consumer received the three messages");

        Assert.Equal(["a", "b", "c"], secondGot.Select(Text).Order());
        Assert.All(secondGot, m => Assert.Equal(1, m.DeliveryCount)); // the quorum queue counts the unacknowledged delivery
        await Wait.UntilAsync(() => second.Acknowledged == 3, "the second consumer acknowledged its batch");
        await second.DisposeAsync();
        await using var probe = await broker.ProbeAsync();
        Assert.Equal(0u, await probe.ReadyAsync(publisher.Topology.ShardQueue(0)));
    }

    [Fact]
    public async Task Only_one_consumer_of_a_shard_gets_messages_and_the_other_takes_over_when_it_closes()
    {
        var options = broker.Options(shards: 1);
        await using var publisher = new EventPublisher(options);
        var gotByFirst = new ConcurrentQueue<string>();
        var gotBySecond = new ConcurrentQueue<string>();
        var first = await EventConsumer.StartAsync(options, [0], Collect(gotByFirst));
        await using var second = await EventConsumer.StartAsync(options, [0], Collect(gotBySecond));

        for (var i = 0; i < 20; i++)
        {
            await publisher.PublishAsync(0, Utf8($"before-{i}"), null, CancellationToken.None);
        }
        await Wait.UntilAsync(() => gotByFirst.Count + gotBySecond.Count == 20, "twenty messages consumed");
        Assert.Equal(20, gotByFirst.Count); // the first to subscribe is the active one
        Assert.Empty(gotBySecond);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"before-{i}"), gotByFirst); // one owner: in order

        await Wait.UntilAsync(() => first.Acknowledged == 20, "the first consumer acknowledged");
        await first.DisposeAsync();
        for (var i = 0; i < 20; i++)
        {
            await publisher.PublishAsync(0, Utf8($"after-{i}"), null, CancellationToken.None);
        }
        await Wait.UntilAsync(() => gotBySecond.Count == 20, "the second consumer took over");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"after-{i}"), gotBySecond);
    }

    [Fact]
    public async Task A_message_the_handler_marks_as_poison_is_dead_lettered_with_its_reason_and_the_rest_are_acknowledged()
    {
        var options = broker.Options(shards: 2);
        await using var publisher = new EventPublisher(options);
        await publisher.PublishAsync(1, Utf8("good-1"), null, CancellationToken.None);
        await publisher.PublishAsync(1, Utf8("bad"), new Dictionary<string, object?> { ["x-collector"] = "node-a" }, CancellationToken.None);
        await publisher.PublishAsync(1, Utf8("good-2"), null, CancellationToken.None);

        var stored = new ConcurrentQueue<string>();
        var consumer = await EventConsumer.StartAsync(options, [0, 1], (batch, _) =>
        {
            foreach (var message in batch)
            {
                if (Text(message) == "bad")
                {
                    message.MarkPoison("body is not a JSON array of events");
                }
                else
                {
                    stored.Enqueue(Text(message));
                }
            }
            return Task.CompletedTask;
        });
        await using var probe = await broker.ProbeAsync();
        var deadQueue = publisher.Topology.DeadLetterQueue;
        await Wait.UntilAsync(async () => await probe.ReadyAsync(deadQueue) == 1 && consumer.Acknowledged == 3, "the poison message dead-lettered and all three acknowledged");
        await consumer.DisposeAsync();

        Assert.Equal(["good-1", "good-2"], stored.Order());
        var dead = Assert.Single(await probe.DrainAsync(deadQueue));
        Assert.Equal("bad", dead.Body);
        Assert.Equal("body is not a JSON array of events", QueuedMessage.HeaderText(dead.Headers[EventQueueTopology.ReasonHeader]));
        Assert.Equal("node-a", QueuedMessage.HeaderText(dead.Headers["x-collector"]));
        Assert.Equal("1", QueuedMessage.HeaderText(dead.Headers["x-atalaya-shard"]));
        Assert.Equal(0u, await probe.ReadyAsync(publisher.Topology.ShardQueue(1))); // nothing left to redeliver
    }

    [Fact]
    public async Task A_failing_batch_comes_back_and_is_dead_lettered_after_the_last_allowed_delivery()
    {
        var options = broker.Options(shards: 1) with { MaxDeliveries = 3 };
        await using var publisher = new EventPublisher(options);
        await publisher.PublishAsync(0, Utf8("unlucky"), null, CancellationToken.None);

        var deliveryCounts = new ConcurrentQueue<int>();
        var consumer = await EventConsumer.StartAsync(options, [0], (batch, _) =>
        {
            foreach (var message in batch)
            {
                deliveryCounts.Enqueue(message.DeliveryCount);
            }
            throw new InvalidOperationException("ClickHouse refused the insert");
        });
        await using var probe = await broker.ProbeAsync();
        var deadQueue = publisher.Topology.DeadLetterQueue;
        // Dead-lettered, then acknowledged: stopping the consumer between the two would hand the message back.
        await Wait.UntilAsync(async () => await probe.ReadyAsync(deadQueue) == 1 && consumer.Acknowledged == 1, "the message dead-lettered and acknowledged");
        await consumer.DisposeAsync();

        Assert.Equal([0, 1, 2], deliveryCounts); // the queue's x-delivery-count, one more per failure
        var dead = Assert.Single(await probe.DrainAsync(deadQueue));
        Assert.Equal("unlucky", dead.Body);
        Assert.Equal(
            "the batch handler failed on 3 deliveries; last error: InvalidOperationException: ClickHouse refused the insert",
            QueuedMessage.HeaderText(dead.Headers[EventQueueTopology.ReasonHeader]));
        Assert.Equal(0u, await probe.ReadyAsync(publisher.Topology.ShardQueue(0)));
    }

    [Fact]
    public async Task A_message_whose_consumers_keep_dying_with_it_is_dead_lettered_without_being_handed_over_again()
    {
        var options = broker.Options(shards: 1) with { MaxUnsettledDeliveries = 2 };
        await using var publisher = new EventPublisher(options);
        await publisher.PublishAsync(0, Utf8("crashes-the-writer"), null, CancellationToken.None);

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var got = 0;
            var dying = await EventConsumer.StartAsync(options, [0], async (batch, ct) =>
            {
                Interlocked.Add(ref got, batch.Count);
                await Task.Delay(Timeout.Infinite, ct); // the writer never gets to acknowledge
            });
            await Wait.UntilAsync(() => got == 1, $"delivery {attempt + 1}");
            await dying.DisposeAsync();
        }

        var handed = 0;
        var last = await EventConsumer.StartAsync(options, [0], (batch, _) =>
        {
            Interlocked.Add(ref handed, batch.Count);
            return Task.CompletedTask;
        });
        await using var probe = await broker.ProbeAsync();
        await Wait.UntilAsync(() => last.Acknowledged == 1, "the message settled by the third consumer");
        await last.DisposeAsync();

        Assert.Equal(0, handed);
        var dead = Assert.Single(await probe.DrainAsync(publisher.Topology.DeadLetterQueue));
        Assert.Equal("crashes-the-writer", dead.Body);
        Assert.StartsWith("delivered 2 times without being settled", QueuedMessage.HeaderText(dead.Headers[EventQueueTopology.ReasonHeader]), StringComparison.Ordinal);
        Assert.Equal(0u, await probe.ReadyAsync(publisher.Topology.ShardQueue(0)));
    }

    [Fact]
    public async Task A_batch_whose_handler_failed_with_an_io_error_is_delivered_again_and_stored()
    {
        var options = broker.Options(shards: 1);
        await using var publisher = new EventPublisher(options);
        await publisher.PublishAsync(0, Utf8("retry-me"), null, CancellationToken.None);

        var stored = new ConcurrentQueue<(string Body, int DeliveryCount)>();
        var consumer = await EventConsumer.StartAsync(options, [0], (batch, _) =>
        {
            if (batch.Any(m => m.DeliveryCount == 0))
            {
                throw new IOException("connection refused by ClickHouse"); // the kind of error a writer's store throws
            }
            foreach (var message in batch)
            {
                stored.Enqueue((Text(message), message.DeliveryCount));
            }
            return Task.CompletedTask;
        });
        await Wait.UntilAsync(() => consumer.Acknowledged == 1, "the message stored on its second delivery");
        await consumer.DisposeAsync();

        Assert.Equal([("retry-me", 1)], stored);
        Assert.IsType<IOException>(consumer.LastError);
        await using var probe = await broker.ProbeAsync();
        Assert.Equal(0u, await probe.ReadyAsync(publisher.Topology.ShardQueue(0)));
        Assert.Equal(0u, await probe.ReadyAsync(publisher.Topology.DeadLetterQueue));
    }

    [Fact]
    public async Task A_shard_queue_made_with_other_arguments_is_reported_as_such()
    {
        var options = broker.Options(shards: 1);
        var topology = new EventQueueTopology(options);
        await using (var probe = await broker.ProbeAsync())
        {
            await probe.DeclareClassicAsync(topology.ShardQueue(0)); // a classic queue, as if made by hand
        }
        await using var publisher = new EventPublisher(options);

        var error = await Assert.ThrowsAsync<QueueUnavailableException>(() =>
            publisher.PublishAsync(0, Utf8("x"), null, CancellationToken.None));

        Assert.Contains("exists with other arguments", error.Message, StringComparison.Ordinal);
        Assert.Contains("inequivalent arg 'x-single-active-consumer'", error.Message, StringComparison.Ordinal); // the broker's own words
        var consumerError = await Assert.ThrowsAsync<QueueUnavailableException>(() =>
            EventConsumer.StartAsync(options, [0], (_, _) => Task.CompletedTask));
        Assert.Contains("exists with other arguments", consumerError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_closes_at_its_size_or_when_its_wait_has_passed_whichever_comes_first()
    {
        var clock = new FakeTimeProvider();
        var options = broker.Options(shards: 1) with { BatchSize = 10, BatchWait = TimeSpan.FromSeconds(5) };
        await using var publisher = new EventPublisher(options);
        for (var i = 0; i < 25; i++)
        {
            await publisher.PublishAsync(0, Utf8($"m-{i}"), null, CancellationToken.None);
        }

        var batches = new ConcurrentQueue<List<string>>();
        await using var consumer = await EventConsumer.StartAsync(options, [0], (batch, _) =>
        {
            batches.Enqueue(batch.Select(Text).ToList());
            return Task.CompletedTask;
        }, clock);

        // Without the clock moving, only full batches can close.
        await Wait.UntilAsync(() => batches.Count == 2, "two full batches");
        Assert.All(batches, b => Assert.Equal(10, b.Count));
        Assert.Equal(20, consumer.Acknowledged);
        // The last five close once the wait has passed (advanced until the batch's timer exists and fires).
        await Wait.UntilAsync(() =>
        {
            clock.Advance(options.BatchWait);
            return batches.Count == 3;
        }, "the partial batch after its wait");
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"m-{i}"), batches.SelectMany(b => b));
        Assert.Equal([10, 10, 5], batches.Select(b => b.Count));
    }

    private static EventBatchHandler Collect(ConcurrentQueue<string> into) => (batch, _) =>
    {
        foreach (var message in batch)
        {
            into.Enqueue(Text(message));
        }
        return Task.CompletedTask;
    };
}
